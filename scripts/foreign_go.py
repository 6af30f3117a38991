"""Gitleaks' sample generators, run in Python for scripts/build_foreign_corpus.py.

gitleaks' rule tests build their true positives with Go helpers (secrets.NewSecret(regex),
utils.GenerateSampleSecret(s), utils.AlphaNumeric…). This module evaluates those Go
expressions the way gitleaks' tests do: a random string from a regex, and a small
evaluator for the Go literals, concatenations and helper calls a rule file uses.
"""

from __future__ import annotations

import ast
import random
import re
from typing import Any


# --- a random string from a regex (what gitleaks' secrets.NewSecret does) ---------------
def _sre():
    import re._constants as c
    import re._parser as p

    return c, p


_PRINTABLE = [chr(c) for c in range(33, 127)]


def generate(pattern: str, rng: random.Random) -> str:
    c, p = _sre()
    pattern = pattern.replace(r"\z", "$")

    def cls(items) -> list[str]:
        out: list[str] = []
        negate = False
        for op, av in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                out.append(chr(av))
            elif op is c.RANGE:
                out += [chr(x) for x in range(av[0], av[1] + 1)]
            elif op is c.CATEGORY:
                out += {
                    c.CATEGORY_DIGIT: list("0123456789"),
                    c.CATEGORY_WORD: list(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
                    ),  # fmt: skip
                    c.CATEGORY_SPACE: [" "],
                }.get(av, ["x"])
        if negate:
            return [x for x in _PRINTABLE if x not in set(out)] or ["x"]
        return out or ["x"]

    def walk(seq) -> str:
        s = []
        for op, av in seq:
            if op is c.LITERAL:
                s.append(chr(av))
            elif op is c.NOT_LITERAL:
                s.append(rng.choice([x for x in _PRINTABLE if ord(x) != av]))
            elif op is c.ANY:
                s.append(rng.choice(_PRINTABLE))
            elif op is c.IN:
                s.append(rng.choice(cls(av)))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = av
                hi = lo + 8 if hi is c.MAXREPEAT else hi
                s.extend(walk(sub) for _ in range(rng.randint(lo, max(lo, hi))))
            elif op is c.SUBPATTERN:
                s.append(walk(av[-1]))
            elif op is c.BRANCH:
                s.append(walk(rng.choice(av[1])))
            elif op is c.CATEGORY:
                s.append(rng.choice(cls([(op, av)])))
        return "".join(s)

    return walk(p.parse(pattern))


# --- a tiny evaluator for the Go expressions gitleaks' rule tests use --------------------
_TOKEN = re.compile(
    r"\s+|//[^\n]*|/\*.*?\*/|(?P<raw>`[^`]*`)|(?P<str>\"(?:\\.|[^\"\\\n])*\")"
    r"|(?P<ell>\.\.\.)|(?P<name>[A-Za-z_][\w.]*)|(?P<num>\d+)|(?P<op>[()\[\]{},+])",
    re.S,
)


def tokens(src: str, pos: int):
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            yield ("?", src[pos]), pos
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            continue
        text = m.group(kind)
        if kind == "raw":
            yield ("str", text[1:-1]), pos
        elif kind == "str":
            yield ("str", ast.literal_eval(text)), pos
        else:
            yield (kind, text), pos


class GoEval:
    """Evaluates `tps := …`, `tps = append(tps, …)` and `fps := []string{…}` statements."""

    def __init__(self, templates: list[str], helpers: dict[str, str], rng: random.Random):
        self.templates, self.helpers, self.rng = templates, helpers, rng
        self.env: dict[str, list[str]] = {}
        self.generated: list[str] = []

    def statement(self, src: str, pos: int) -> tuple[str, list[str]]:
        self.toks = [tok for tok, _ in tokens(src, pos)]
        self.i = 0
        name = self.next()[1]
        self.next()  # := or =  (the tokenizer yields '?' tokens for ':' and '=')
        while self.peek()[0] == "?":
            self.next()
        value = self.expr()
        return name, value if isinstance(value, list) else [value]

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.next()
        if tok[1] != text:
            raise ValueError(f"expected {text}, got {tok}")

    def expr(self) -> Any:
        value = self.primary()
        while self.peek()[1] == "+":
            self.next()
            right = self.primary()
            if not isinstance(value, str) or not isinstance(right, str):
                raise ValueError("+ on non-strings")
            value += right
        return value

    def primary(self) -> Any:
        kind, text = self.next()
        if kind == "str":
            return text
        if kind == "num":
            return int(text)
        if text == "[":  # []string{...}
            self.expect("]")
            self.next()
            self.expect("{")
            items = []
            while self.peek()[1] != "}":
                start = self.i
                try:
                    items.append(self.expr())
                except (ValueError, KeyError, IndexError):
                    self.i = start
                    self._skip_element()
                if self.peek()[1] == ",":
                    self.next()
            self.next()
            return [x for x in items if isinstance(x, str)]
        if kind == "name":
            if self.peek()[1] != "(":
                return list(self.env[text])
            self.next()
            args, spread = [], False
            while self.peek()[1] != ")":
                args.append(self.expr())
                if self.peek()[0] == "ell":
                    self.next()
                    spread = True
                if self.peek()[1] == ",":
                    self.next()
            self.next()
            return self.call(text, args, spread)
        raise ValueError(f"unexpected {text!r}")

    def _skip_element(self) -> None:
        depth = 0
        while True:
            tok = self.peek()
            if tok[0] == "eof" or (depth == 0 and tok[1] in (",", "}")):
                return
            depth += tok[1] in "({[" and tok[0] == "op"
            depth -= tok[1] in ")}]" and tok[0] == "op"
            self.next()

    def call(self, fn: str, args: list, spread: bool) -> Any:
        short = fn.rsplit(".", 1)[-1]
        if short == "append":
            out = list(args[0])
            for a in args[1:]:
                out += a if isinstance(a, list) else [a]
            return out
        if short == "NewSecret":
            value = generate(args[0], self.rng)
            self.generated.append(value)
            return value
        if short == "GenerateSampleSecret":
            return f'{args[0]}_api_token = "{args[1]}"'
        if short == "GenerateSampleSecrets":
            i, s = args
            return [t.replace("{i}", i).replace("{I}", i.upper()).replace("{s}", s) for t in self.templates]  # fmt: skip
        if short == "Repeat":
            return args[0] * args[1]
        if short in self.helpers:
            return self.helpers[short].replace("%s", str(args[0]) if args else "")
        raise ValueError(f"unsupported call {fn}")
