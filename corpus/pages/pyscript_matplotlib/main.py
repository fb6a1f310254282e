import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt
from pyscript import display

fig, ax = plt.subplots(figsize=(4, 3))
ax.plot([0, 1, 2, 3], [1, 4, 9, 16], marker="o")
ax.set_title("squares")
display(fig)
display(f"lines drawn: {len(ax.lines)}, title: {ax.get_title()}")
