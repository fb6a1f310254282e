# The seed tool's headline example: scikit-learn (with numpy, scipy and OpenBLAS from the
# Pyodide 0.27.7 lock) fitting a ridge regression.
from sklearn.linear_model import Ridge
import numpy as np

X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 1.5]])
y = np.array([0.0, 0.1, 1.0, 1.8])
model = Ridge(alpha=1.0).fit(X, y)
print("coef", np.round(model.coef_, 4).tolist())
print("intercept", round(float(model.intercept_), 4))
