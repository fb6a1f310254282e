# The stdlib's zoneinfo reads zone files from the tzdata package through importlib.resources,
# with a package name built from the zone's key ("tzdata.zoneinfo" + its folders).
from datetime import datetime
from zoneinfo import ZoneInfo

moment = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
print(moment.isoformat())
print(moment.astimezone(ZoneInfo("Asia/Tokyo")).isoformat())
