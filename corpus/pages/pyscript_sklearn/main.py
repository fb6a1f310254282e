import numpy as np
from sklearn.linear_model import Ridge
from pyscript import display

rng = np.random.default_rng(0)
X = rng.normal(size=(50, 3))
y = X @ np.array([1.5, -2.0, 0.5]) + 0.01 * rng.normal(size=50)
model = Ridge(alpha=0.1).fit(X, y)
display("coefficients: " + ", ".join(f"{c:.2f}" for c in model.coef_))
display(f"score: {model.score(X, y):.4f}")
