# Never traced: a lexer, a formatter and a style found by name through pygments' mapping tables.
from pygments.styles import get_style_by_name

lexer = get_lexer_by_name("rust")
out = highlight("fn main() {}\n", lexer, get_formatter_by_name("terminal256", style="monokai"))
print(type(lexer).__name__, get_style_by_name("monokai").__name__, out.count("\x1b["))
