# Never traced: zones whose files the traced run did not open (a path built from __file__).
for name in ["America/Sao_Paulo", "Australia/Adelaide"]:
    print(pytz.timezone(name).localize(datetime(2026, 1, 15, 8, 30)).isoformat())
