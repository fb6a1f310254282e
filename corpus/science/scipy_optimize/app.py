# scipy from the Pyodide 0.27.7 lock: a minimisation.
import numpy as np
from scipy.optimize import minimize

result = minimize(lambda v: (v[0] - 1.5) ** 2 + (v[1] + 0.5) ** 2, np.zeros(2), method="BFGS")
print("minimum", np.round(result.x, 3).tolist(), bool(result.success))
