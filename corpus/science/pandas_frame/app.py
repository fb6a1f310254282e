# pandas from the Pyodide 0.27.7 lock: a frame, a group-by, a pivot.
import pandas as pd

df = pd.DataFrame({
    "city": ["Oslo", "Lima", "Oslo", "Lima", "Pune"],
    "month": [1, 1, 2, 2, 1],
    "rain": [49.0, 1.5, 36.2, 2.8, 0.9],
})
print(df.groupby("city")["rain"].sum().round(1).to_dict())
print(df.pivot_table(index="city", columns="month", values="rain").fillna(0).shape)
