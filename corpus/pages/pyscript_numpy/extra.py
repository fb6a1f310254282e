# An input: run in the page's interpreter once the page is done (pack --input).
import fractions

import numpy.polynomial.polynomial as P

print("roots", P.polyroots([-4, 0, 1]).tolist(), fractions.Fraction(2, 8))
