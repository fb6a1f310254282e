import pandas as pd
from pyscript import display

frame = pd.DataFrame(
    {"city": ["Lyon", "Oslo", "Quito", "Lyon", "Oslo"], "rain_mm": [71, 63, 98, 55, 80]}
)
summary = frame.groupby("city")["rain_mm"].agg(["count", "mean"]).reset_index()
display(summary.to_string(index=False))
print("rows", len(frame))
