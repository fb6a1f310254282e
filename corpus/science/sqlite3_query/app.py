# sqlite3 is not in Pyodide 0.27.7's stdlib zip: it is a `cpython_module` package of the lock.
import sqlite3

db = sqlite3.connect(":memory:")
db.execute("create table rain (city text, mm real)")
db.executemany("insert into rain values (?, ?)", [("Oslo", 49.0), ("Lima", 1.5), ("Oslo", 36.2)])
print(db.execute("select city, round(sum(mm), 1) from rain group by city order by city").fetchall())
