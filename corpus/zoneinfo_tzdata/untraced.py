# Never traced: zones whose files the traced run did not open.
for key in ["America/Sao_Paulo", "Australia/Adelaide"]:
    print(datetime(2026, 1, 15, 8, 30, tzinfo=ZoneInfo(key)).isoformat())
