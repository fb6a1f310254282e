# Not traced: integration, a special function, a linear solve through LAPACK.
from scipy import integrate, linalg, special

value, _ = integrate.quad(lambda t: np.exp(-t * t), 0, 1)
print("quad", round(value, 6))
print("gamma", round(float(special.gamma(4.5)), 6))
print("solve", np.round(linalg.solve([[3.0, 1.0], [1.0, 2.0]], [9.0, 8.0]), 3).tolist())
