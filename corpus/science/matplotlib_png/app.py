# matplotlib from the Pyodide 0.27.7 lock: a line plot drawn with the Agg backend into a PNG in
# memory. The PNG's signature and size in pixels are printed (its bytes depend on fonts).
import io
import struct

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
ax.plot([0, 1, 2, 3], [1, 3, 2, 4])
ax.set_title("rain")
buffer = io.BytesIO()
fig.savefig(buffer, format="png")
png = buffer.getvalue()
print(png[:8] == b"\x89PNG\r\n\x1a\n", struct.unpack(">II", png[16:24]))
