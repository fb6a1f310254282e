# Pure-Python package with a try/except ImportError fallback (wcwidth) and imports inside functions.
from tabulate import tabulate

rows = [["héllo", 1.5, True], ["wörld", 22.25, False], ["日本語", 3, None]]
print(tabulate(rows, headers=["word", "value", "flag"], tablefmt="github"))
print(tabulate([[1, 2], [3, 4]], tablefmt="plain"))
