# Not traced: rows by name and a dump of the database (sqlite3.dump, imported on first use).
db.row_factory = sqlite3.Row
row = db.execute("select city, mm from rain order by mm desc limit 1").fetchone()
print(row["city"], row["mm"])
print(sum(1 for line in db.iterdump() if line.startswith("INSERT")))
