# Not traced: a bar chart with a colour map and a legend, saved as SVG.
import numpy as np

fig2, ax2 = plt.subplots(figsize=(3, 2))
ax2.bar(["a", "b", "c"], [3, 1, 2], color=plt.get_cmap("viridis")(np.linspace(0, 1, 3)), label="n")
ax2.legend()
svg = io.StringIO()
fig2.savefig(svg, format="svg")
print(svg.getvalue().lstrip().startswith("<?xml"), "<svg" in svg.getvalue())
