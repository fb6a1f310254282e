# Not traced: CSV parsing with dates, resampling, JSON output, and numpy's FFT (an extension
# module the traced run never loaded).
import io

import numpy as np

csv = "day,value\n2024-01-01,3\n2024-01-02,5\n2024-01-09,8\n"
series = pd.read_csv(io.StringIO(csv), parse_dates=["day"]).set_index("day")["value"]
print(series.resample("W").sum().tolist())
print(df.head(2).to_json(orient="records"))
print(np.round(np.abs(np.fft.rfft(series.to_numpy())), 3).tolist())
