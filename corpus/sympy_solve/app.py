# One large package (sympy, about 1,500 files) with mpmath.
import sympy as sp

x = sp.symbols("x")
print(sp.solve(x**2 - 5 * x + 6, x))
print(sp.integrate(sp.sin(x) * sp.exp(x), x))
print(sp.factor(x**4 - 1))
print(sp.N(sp.pi, 30))
