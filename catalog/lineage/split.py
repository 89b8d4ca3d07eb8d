"""Cut a SQL script into statements, and a procedure body into the DML statements it runs.

sqlglot parses a whole script at once and one bad statement fails all of it, so the script is cut here, on the
dialect's own tokens (strings, dollar quotes and comments are never cut). The cutting knows the shapes that plain
``;`` splitting gets wrong:

- blocks: ``BEGIN … END`` and ``CASE … END`` nest (``END IF``/``END LOOP``/… close blocks that were never
  counted), so a MySQL ``CREATE PROCEDURE … BEGIN …; …; END`` stays one statement;
- batch separators: T-SQL ``GO`` lines, Oracle ``/`` lines and MySQL ``DELIMITER`` directives;
- T-SQL needs no ``;`` between statements: a new statement starts at its first keyword;
- procedural code (plpgsql, T-SQL, MySQL, PL/SQL, Snowflake and BigQuery scripting): control flow (``IF … THEN``,
  ``WHILE … LOOP``, ``DECLARE``, ``RETURN``, labels, …) is skipped and only the DML between it is kept.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType


class PieceKind(Enum):
    DML = "dml"  # a statement to parse and analyse
    OTHER = "other"  # a statement that moves no data (SET, GRANT, COMMIT, …): parsed at top level only
    PROCEDURE = "procedure"  # CREATE PROCEDURE/FUNCTION/TRIGGER, DO: its body is cut again with `body_pieces`


@dataclass(frozen=True)
class Piece:
    kind: PieceKind
    text: str
    line: int  # 1-based line of its first token in the whole script
    offset: int  # character offset of the text in the whole script
    # The dialect's tokens of the statement and the text their offsets point into: the parser takes them as they
    # are, so a statement is tokenized once (tokenizing is a third of the cost).
    tokens: list[Token] | None = field(default=None, repr=False, compare=False)
    source: str = field(default="", repr=False, compare=False)


# Keywords that start a statement moving data (or defining a table whose columns later statements need).
DML_STARTS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "TRUNCATE", "WITH", "SELECT",
                        "REPLACE", "UPSERT", "ALTER", "VALUES", "TABLE", "FROM"})
# Keywords that start procedural control flow: never data movement themselves.
CONTROL_STARTS = frozenset({"IF", "ELSIF", "ELSEIF", "WHILE", "FOR", "FOREACH", "LOOP", "REPEAT", "UNTIL", "ELSE",
                            "END", "BEGIN", "WHEN", "EXCEPTION", "DECLARE", "RETURN", "RETURNS", "RAISE", "PERFORM",
                            "OPEN", "FETCH", "CLOSE", "LEAVE", "ITERATE", "CONTINUE", "EXIT", "GOTO", "PRINT",
                            "THROW", "SIGNAL", "RESIGNAL", "GET", "NULL", "CASE", "ASSERT", "BREAK", "DEALLOCATE",
                            "LET", "AS", "IS", "PROCEDURE", "FUNCTION", "CURSOR", "PRAGMA", "TYPE", "SUBTYPE"})
# A control piece ends after one of these (IF … THEN, WHILE … LOOP/DO, … BEGIN, ELSE).
CONTROL_ENDS = frozenset({"THEN", "LOOP", "DO", "BEGIN", "ELSE"})
# A DML piece ends before one of these when not inside parentheses or a CASE expression.
DML_ENDS = frozenset({"END", "ELSE", "ELSIF", "ELSEIF", "EXCEPTION"})
# Inside a control piece, the statement it guards can follow with no THEN (T-SQL: IF @x = 1 INSERT …).
GUARDED_STARTS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "TRUNCATE", "REPLACE",
                            "UPSERT"})
# T-SQL statements need no terminator: these keywords start a new statement (with the exceptions in `_tsql_breaks`).
TSQL_STARTS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "DROP", "TRUNCATE", "CREATE", "DECLARE", "EXEC",
                         "EXECUTE", "PRINT", "RETURN", "IF", "WHILE", "BEGIN", "SET", "SELECT", "RAISERROR", "THROW"})
NOT_A_BLOCK_AFTER_BEGIN = frozenset({"TRANSACTION", "TRAN", "WORK", "ISOLATION", "DEFERRED", "IMMEDIATE", "EXCLUSIVE",
                                     "DISTRIBUTED", "TRY", "CATCH"})
BLOCKS_NOT_COUNTED = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
ROUTINE_WORDS = frozenset({"PROCEDURE", "PROC", "FUNCTION", "TRIGGER", "PACKAGE"})
NOT_A_ROUTINE = frozenset({"TABLE", "VIEW", "INDEX", "AS", "SCHEMA", "DATABASE", "SEQUENCE", "TYPE"})
STRINGS = frozenset({TokenType.STRING, TokenType.HEREDOC_STRING, TokenType.RAW_STRING, TokenType.NATIONAL_STRING,
                     TokenType.BYTE_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING})
NON_SQL_LANGUAGES = frozenset({"JAVASCRIPT", "PYTHON", "JAVA", "SCALA", "PLPYTHONU", "PLPYTHON3U", "PLPERL", "C",
                               "PLV8", "R", "PLR"})

# No two blank runs side by side: "GO[ \t]*(\d+)?[ \t]*;?[ \t]*$" backtracked cubically over a line of blanks.
_GO_LINE = re.compile(r"^[ \t]*GO(?:[ \t]*(\d+))?[ \t]*(?:;[ \t]*)?$", re.IGNORECASE | re.MULTILINE)
_SLASH_LINE = re.compile(r"^[ \t]*/[ \t]*$", re.MULTILINE)
_DELIMITER_LINE = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def word(token: Token) -> str | None:
    """The keyword a token spells (upper case), or None for strings and quoted identifiers."""
    if token.token_type in STRINGS or token.token_type == TokenType.IDENTIFIER:
        return None
    return token.text.upper()


class _Lines:
    """Line numbers of character offsets, in O(log n) each."""

    def __init__(self, text: str):
        self._starts = [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> int:
        return bisect_right(self._starts, offset) + 1


def _batches(sql: str, dialect_name: str) -> list[tuple[int, int]]:
    """(start, end) character ranges of the script's batches: between T-SQL GO lines or Oracle / lines."""
    separator = {"tsql": _GO_LINE, "oracle": _SLASH_LINE}.get(dialect_name)
    if separator is None:
        return [(0, len(sql))]
    ranges, start = [], 0
    for match in separator.finditer(sql):
        ranges.append((start, match.start()))
        start = match.end()
    ranges.append((start, len(sql)))
    return ranges


def _undelimit(sql: str) -> str:
    """MySQL clients' DELIMITER directives: blank the directive, turn the custom delimiter back into ``;``.

    Lengths and line breaks are kept so offsets and line numbers still point into the original script.
    """
    if "delimiter" not in sql.lower():
        return sql
    parts, position, delimiter = [], 0, ";"
    for match in _DELIMITER_LINE.finditer(sql):
        parts.append(_replace_delimiter(sql[position:match.start()], delimiter))
        parts.append(" " * (match.end() - match.start()))
        position, delimiter = match.end(), match.group(1)
    parts.append(_replace_delimiter(sql[position:], delimiter))
    return "".join(parts)


def _replace_delimiter(text: str, delimiter: str) -> str:
    if delimiter == ";":
        return text
    return text.replace(delimiter, ";" + " " * (len(delimiter) - 1))


def script_pieces(sql: str, dialect, dialect_name: str) -> list[Piece]:
    """The top-level statements of a script, procedures kept whole."""
    text = _undelimit(sql)
    lines = _Lines(text)
    pieces: list[Piece] = []
    for start, end in _batches(text, dialect_name):
        pieces.extend(_cut(text, start, end, dialect, dialect_name, lines, top_level=True))
    return pieces


def body_pieces(body: str, offset: int, sql: str, dialect, dialect_name: str) -> list[Piece]:
    """The DML statements of a procedure body found at ``offset`` in the whole script ``sql``."""
    lines = _Lines(sql)
    return [piece for piece in _cut(sql, offset, offset + len(body), dialect, dialect_name, lines,
                                             top_level=False, text=body)
            if piece.kind is not PieceKind.OTHER]


def _tokenize(dialect, text: str) -> list[Token] | None:
    """The dialect's tokens of ``text``, None when it does not tokenize (an unterminated string or comment).

    After a command keyword (BigQuery's BEGIN, PostgreSQL's DECLARE, …) some tokenizers keep the rest of the
    statement as one unquoted string token; that text is tokenized again so the statements inside are seen.
    """
    try:
        tokens = dialect.tokenize(text)
    except TokenError:
        return None
    spliced: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.STRING and spliced and token.text.strip():
            # The swallowed text starts right after the command keyword, unquoted (its start offset is not kept).
            position = len(text) - len(text[spliced[-1].end + 1:].lstrip())
            inner = _tokenize(dialect, token.text) if text.startswith(token.text, position) else None
            if inner:
                spliced.extend(Token(t.token_type, t.text, t.line, t.col, t.start + position, t.end + position,
                                     t.comments) for t in inner)
                continue
        spliced.append(token)
    return spliced


def _cut(sql: str, start: int, end: int, dialect, dialect_name: str, lines: _Lines, *, top_level: bool,
         text: str | None = None) -> list[Piece]:
    chunk = sql[start:end] if text is None else text
    if not chunk.strip():
        return []
    tokens = _tokenize(dialect, chunk)
    if tokens is None:  # an unterminated string or comment: hand the whole batch to the parser to report
        stripped = len(chunk) - len(chunk.lstrip())
        return [Piece(PieceKind.DML, chunk.strip(), lines.of(start + stripped), start + stripped, None, chunk)]
    tsql = dialect_name in ("tsql", "fabric")
    whole_batch = dialect_name in ("tsql", "fabric", "oracle")
    pieces, i = [], 0
    while i < len(tokens):
        i = _skip_labels(tokens, i)
        if i >= len(tokens):
            break
        first = word(tokens[i])
        if first == ";" or tokens[i].token_type == TokenType.SEMICOLON:
            i += 1
            continue
        if top_level and _starts_routine(tokens, i):
            kind, stop = PieceKind.PROCEDURE, (len(tokens) if whole_batch else _routine_end(tokens, i))
        elif first in CONTROL_STARTS and not _declares_temporary_table(tokens, i):
            i = _control_end(tokens, i)
            continue
        elif first in DML_STARTS or first == "DECLARE" or tokens[i].token_type == TokenType.L_PAREN:
            kind, stop = PieceKind.DML, _dml_end(tokens, i, tsql)
        else:
            kind, stop = PieceKind.OTHER, _other_end(tokens, i, tsql)
        if stop > i:
            first_char, last_char = tokens[i].start, tokens[stop - 1].end + 1
            pieces.append(Piece(kind, chunk[first_char:last_char], lines.of(start + first_char),
                                start + first_char, tokens[i:stop], chunk))
        i = max(stop, i + 1)
    return pieces


def _skip_labels(tokens: list[Token], i: int) -> int:
    """Skip ``label:`` (MySQL, BigQuery) and ``<<label>>`` (plpgsql)."""
    while i + 1 < len(tokens):
        if tokens[i + 1].token_type == TokenType.COLON and tokens[i].token_type == TokenType.VAR:
            i += 2
        elif tokens[i].text == "<<":
            while i < len(tokens) and tokens[i].text != ">>":
                i += 1
            i += 1
        else:
            break
    return i


def _declares_temporary_table(tokens: list[Token], i: int) -> bool:
    return word(tokens[i]) == "DECLARE" and i + 1 < len(tokens) and word(tokens[i + 1]) == "GLOBAL"


def _starts_routine(tokens: list[Token], i: int) -> bool:
    first = word(tokens[i])
    if first == "DO" or _executes_immediate(tokens, i):
        return True
    following = word(tokens[i + 1]) if i + 1 < len(tokens) else None
    if first not in ("CREATE", "ALTER") or (first == "ALTER" and following not in ("PROCEDURE", "PROC")):
        return False
    for token in tokens[i + 1:i + 10]:
        spelled = word(token)
        if spelled in ROUTINE_WORDS:
            return True
        if spelled in NOT_A_ROUTINE or token.token_type == TokenType.L_PAREN:
            return False
    return False


def _executes_immediate(tokens: list[Token], i: int) -> bool:
    """Snowflake's EXECUTE IMMEDIATE $$ … $$: an anonymous block."""
    return (word(tokens[i]) == "EXECUTE" and i + 2 < len(tokens) and word(tokens[i + 1]) == "IMMEDIATE"
            and tokens[i + 2].token_type in STRINGS)


def _opens_block(tokens: list[Token], i: int) -> bool:
    spelled = word(tokens[i])
    if spelled == "CASE":
        return True
    if spelled != "BEGIN":
        return False
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    return not (following is None or following.token_type == TokenType.SEMICOLON
                or word(following) in NOT_A_BLOCK_AFTER_BEGIN)


def _closes_block(tokens: list[Token], i: int) -> bool:
    if word(tokens[i]) != "END":
        return False
    following = tokens[i + 1] if i + 1 < len(tokens) else None
    return following is None or word(following) not in BLOCKS_NOT_COUNTED


def _routine_end(tokens: list[Token], i: int) -> int:
    """After the ``;`` that ends a CREATE PROCEDURE/FUNCTION/TRIGGER: the first one outside every block."""
    depth = 0
    for j in range(i, len(tokens)):
        if _opens_block(tokens, j):
            depth += 1
        elif _closes_block(tokens, j):
            depth = max(depth - 1, 0)
        elif tokens[j].token_type == TokenType.SEMICOLON and depth == 0:
            return j
    return len(tokens)


def _outside_parentheses(tokens: list[Token], i: int) -> Iterator[tuple[int, Token]]:
    """(index, token) of the tokens from ``i`` on that are not inside parentheses (nor are parentheses)."""
    parens = 0
    for j in range(i, len(tokens)):
        token = tokens[j]
        if token.token_type == TokenType.L_PAREN:
            parens += 1
        elif token.token_type == TokenType.R_PAREN:
            parens -= 1
        elif parens <= 0:
            yield j, token


def _control_end(tokens: list[Token], i: int) -> int:
    """Index after a control-flow piece: after its ``;``/THEN/LOOP/DO/BEGIN/ELSE, or at the statement it guards."""
    for j, token in _outside_parentheses(tokens, i):
        if token.token_type == TokenType.SEMICOLON:
            return j + 1
        spelled = word(token)
        if spelled in CONTROL_ENDS and (j > i or spelled in ("BEGIN", "ELSE", "LOOP")):
            return j + 1
        if j > i and spelled in GUARDED_STARTS and not _continues(tokens, j):
            return j
    return len(tokens)


def _continues(tokens: list[Token], j: int) -> bool:
    """True when the keyword at j belongs to the clause before it (ON DELETE, DROP TABLE IF, AFTER INSERT, …)."""
    before = word(tokens[j - 1]) if j > 0 else None
    spelled = word(tokens[j])
    if spelled in ("DELETE", "UPDATE", "INSERT"):
        return before in {"ON", "FOR", "AFTER", "BEFORE", "OF", "INSTEAD", "OR", "DO", ",", "THEN"}
    if spelled == "IF":
        return before in {"TABLE", "VIEW", "PROCEDURE", "PROC", "FUNCTION", "INDEX", "SCHEMA", "DATABASE",
                          "TRIGGER", "SEQUENCE", "TYPE", "COLUMN", "CONSTRAINT"}
    return False


def _dml_end(tokens: list[Token], i: int, tsql: bool) -> int:
    """Index after a DML statement: its ``;``, or before END/ELSE of the enclosing block, or (T-SQL) the next
    statement's first keyword."""
    cases, froms, branches = 0, False, False
    leading = word(tokens[i])
    for j, token in _outside_parentheses(tokens, i):
        if token.token_type == TokenType.SEMICOLON:
            return j + 1
        spelled = word(token)
        if spelled == "CASE":
            cases += 1
        elif spelled == "END" and cases > 0:
            cases -= 1
        elif spelled == "WHEN":
            branches = True  # INSERT ALL/FIRST WHEN … THEN INTO … ELSE INTO …: its ELSE is its own
        elif cases == 0 and j > i and spelled in DML_ENDS and not (branches and spelled == "ELSE"):
            return j
        elif spelled == "FROM":
            froms = True
        elif tsql and leading == "WITH" and spelled in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"):
            leading = spelled  # the statement the CTEs belong to
        elif tsql and j > i and _tsql_breaks(tokens, j, leading, froms):
            return j
    return len(tokens)


def _tsql_breaks(tokens: list[Token], j: int, leading: str | None, froms: bool) -> bool:
    spelled = word(tokens[j])
    if spelled not in TSQL_STARTS or leading == "MERGE" or leading == "ALTER" or _continues(tokens, j):
        return False
    before = word(tokens[j - 1])
    if spelled == "SET":
        return leading != "UPDATE"
    if spelled == "SELECT":
        return froms and before not in {"UNION", "ALL", "EXCEPT", "INTERSECT", "DISTINCT", "AS", "(", "EXISTS",
                                        "IN"}
    return True


def _other_end(tokens: list[Token], i: int, tsql: bool) -> int:
    for j, token in _outside_parentheses(tokens, i):
        if token.token_type == TokenType.SEMICOLON:
            return j + 1
        spelled = word(token)
        if j > i and (spelled in DML_ENDS or (tsql and spelled in TSQL_STARTS and not _continues(tokens, j))
                      or spelled in GUARDED_STARTS and not _continues(tokens, j) and tsql):
            return j
    return len(tokens)


@dataclass(frozen=True)
class RoutineBody:
    text: str
    offset: int  # in the whole script


def routine_body(piece: Piece, dialect) -> RoutineBody | None:
    """The body of a CREATE PROCEDURE/FUNCTION/TRIGGER or DO block, None when it holds no SQL to read."""
    tokens = _tokenize(dialect, piece.text)
    if not tokens:
        return None
    for j, token in enumerate(tokens):
        if word(token) == "LANGUAGE" and j + 1 < len(tokens) and word(tokens[j + 1]) in NON_SQL_LANGUAGES:
            return None
    # A quoted body: AS $$ … $$ (PostgreSQL, Snowflake), AS '…', DO $$ … $$.
    for j, token in enumerate(tokens):
        if token.token_type in STRINGS and j > 0 and word(tokens[j - 1]) in ("AS", "DO", "BEGIN", "IMMEDIATE"):
            raw = piece.text[token.start:token.end + 1]
            inner = raw.find(token.text)
            offset = piece.offset + token.start + max(inner, 0)
            return RoutineBody(token.text, offset)
    # An inline body: after the first AS/IS (T-SQL, PL/SQL), BEGIN (MySQL, BigQuery) or FOR EACH ROW (triggers).
    parens = 0
    for j, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            parens += 1
        elif token.token_type == TokenType.R_PAREN:
            parens -= 1
        elif parens == 0 and j > 1:
            spelled = word(token)
            if spelled == "BEGIN" or (spelled in ("AS", "IS") and word(tokens[j - 1]) != "EXECUTE"):
                cut = token.start if spelled == "BEGIN" else token.end + 1
                return RoutineBody(piece.text[cut:], piece.offset + cut)
            if spelled == "ROW" and word(tokens[j - 1]) == "EACH":
                return RoutineBody(piece.text[token.end + 1:], piece.offset + token.end + 1)
    return None
