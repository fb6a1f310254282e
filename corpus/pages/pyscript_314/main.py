import json
import statistics
import sys

from pyscript import display

data = [3, 1, 4, 1, 5, 9, 2, 6]
display(f"Python {sys.version_info.major}.{sys.version_info.minor}")
display(json.dumps({"median": statistics.median(data), "stdev": round(statistics.stdev(data), 3)}))
