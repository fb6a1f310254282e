import numpy as np
from pyscript import display

a = np.arange(12).reshape(3, 4)
display(f"sum of a 3x4 range: {a.sum()}")
display(f"a @ a.T diagonal: {np.diag(a @ a.T).tolist()}")
print("mean", a.mean())
