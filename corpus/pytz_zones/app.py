# pytz opens its zoneinfo files through a path built from __file__.
from datetime import datetime

import pytz

tz = pytz.timezone("Europe/Paris")
moment = tz.localize(datetime(2026, 7, 1, 12, 0))
print(moment.isoformat())
print(moment.astimezone(pytz.timezone("Asia/Tokyo")).isoformat())
print(len(pytz.all_timezones) > 400)
