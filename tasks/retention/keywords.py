"""Credentials without a fixed prefix, found by their context (registered into REGISTRY).

- assignments: a name holding password/secret/token/key/credential, an operator of any
  common syntax (`=`, `:`, `:=`, `::=`, `?=`, `=>`, `,` in logstash/setProperty, JSON's
  `": "`), then the value;
- CLI flags: `--password X`, `-u user -p X`, `curl -u user:X`, `mysql -pX`;
- Kubernetes Secret `data:` values (base64, in YAML or JSON).
The value must pass a gate (validators: password_value / secret_value / base64_text) so
code references (`process.env.X`, `${VAR:=…}`, `request.form.get`), placeholders and
identifiers that merely name a credential are kept.
"""

from __future__ import annotations

from tasks.retention.rules import register

# the credential words; `pass` alone is in the password list (`PASS = '…'`, `pass:`)
_PASSWORD = r"(?:passw(?:or)?d|passwd|passphrase|passwort|pwd|pass)"
_SECRET = (
    r"(?:secret|token|api[_.-]?key|apikey|access[_.-]?key|auth[_.-]?key|private[_.-]?key"
    r"|credentials?|auth|bearer|sas|_pat|pat_|\bpat\b|key)"
)
# name rest, closing quote of a quoted name, operator, opening quote of the value
_OPERATOR = (
    r"[A-Za-z0-9_.\-]{0,30}(?:\\?[\"'`\]])?[ \t]{0,16}"
    r"(?:[:?+!.=]{0,3}=>?|:(?![:/])|,[ \t]*(?=\\?[\"'`])|[ \t]+(?:is|are|was)[ \t]+)"
    r"[ \t]{0,5}(?:\\?[\"'`]){0,2}[ \t]{0,2}"
)
_VALUE = r"(?P<value>[^\s\"'`\\,;<>(){}\[\]]{4,200})"
# up to 8 quote/backslash bytes: a JSON key escaped three times (MCP arguments in a message)
_PREFILTER_OP = r"[A-Za-z0-9_.\-]{0,30}[\"'`\]\\]{0,8}[ \t]{0,16}(?:[:?+!.=]{0,3}=|:|,[ \t]*[\"'`\\]|[ \t]is[ \t])"

# The prefilters run on to the value's first bytes, so a key holding no value is no hit:
# what may follow the operator before the value, then the value's first bytes (a JSON
# `\/` or `\u0041` escape counts as a value byte: the string is decoded before confirming)
_GAP = r">?[ \t]{0,16}[\\\"'`]{0,16}[ \t]{0,4}"
_V = r"(?:[^\s\"'`\\,;<>(){}\[\]]|\\[/u])"
_NOT_NUM = r"(?:[^\s\"'`\\,;<>(){}\[\]0-9.eE+\-]|\\[/u])"
# a value: 4 bytes not opening with a digit, or digits then a letter, or 15+ digits (an id);
# a short number (`"tokensIn": 1234`, `"maxTokens": 8192`) is a count
_SECRET_HEAD = rf"{_GAP}(?:(?:[^\s\"'`\\,;<>(){{}}\[\]0-9]|\\[/u]){_V}{{3}}|[0-9][0-9.eE+\-]{{0,20}}{_NOT_NUM}|[0-9]{{15}})"

register(
    name="password_assignment",
    kind="password",
    pattern=rf"(?i){_PASSWORD}{_OPERATOR}{_VALUE}",
    prefilter=rf"(?i){_PASSWORD}{_PREFILTER_OP}{_GAP}{_V}{{6}}",
    group=1,
    validator="password_value",
)
register(
    name="generic_secret",
    kind="generic_secret",
    pattern=rf"(?i){_SECRET}{_OPERATOR}{_VALUE}",
    prefilter=rf"(?i){_SECRET}{_PREFILTER_OP}{_SECRET_HEAD}",
    group=1,
    validator="secret_value",
)
register(
    name="cli_password",
    kind="password",
    pattern=(
        r"(?:(?<=\s)--(?:password|passwd|pass|token|secret|api-key|apikey|auth-token|access-token"
        r"|client-secret)(?:=|[ \t]+)|(?<=\s)-u[ \t]*[^\s:\"']+[ \t]+-p[ \t]*"
        r"|(?i:mysql\w*|mariadb|mysqldump)[^\n]{0,200}?[ \t]-p(?=[^\s-]))"
        r"(?:\\?[\"'])?(?P<value>[^\s\"'\\]{4,200})"
    ),
    prefilter=r"--(?:password|passwd|pass|token|secret|api-key|apikey|auth-token|access-token|client-secret)|-u[ \t]*[^\s:]+[ \t]+-p|(?i:mysql|mariadb)[^\n]{0,200}[ \t]-p",
    group=1,
    validator="password_value",
)
register(
    name="cli_user_password",
    kind="password",
    pattern=(
        r"(?i:curl|wget|http|https|git|svn)\b(?:[^\n]|\\\n){0,300}?[ \t](?:-u|--user|--http-user|--proxy-user)"
        r"[ \t=]*[\"']?[^\s:\"'<>\[\]]{1,100}:(?P<value>[^\s\"'@\\<>\[\]]{3,200})"
    ),
    prefilter=r"(?i:curl|wget|http|git|svn)(?:[^\n]|\\\n){0,300}[ \t](?:-u|--user|--http-user|--proxy-user)",
    group=1,
    validator="password_value",
    window=700,
)
register(
    name="k8s_secret_data",
    kind="k8s_secret",
    pattern=(
        r"(?m)(?:^[ \t]+[\w.-]+:[ \t]+[\"']?|\"[\w.-]+\"[ \t]*:[ \t]*\")"
        r"(?P<value>[A-Za-z0-9+/]{6,}={0,2})(?=[\"']?[ \t]*(?:$|,|\}))"
    ),
    prefilter=r"(?i)kind\\?[\"']?:[ \t]*\\?[\"']?Secret",
    group=1,
    validator="base64_text",
    window=4000,
)
register(
    name="password_hash",
    kind="password_hash",
    # crypt(3) and cracking formats: $1$ md5, $2a$ bcrypt, $5$/$6$ sha-crypt, $7$/$8$/$9$
    # scrypt/pbkdf2, $y$ yescrypt, $argon2…$, $krb5asrep$/$krb5tgs$ roastable tickets
    pattern=(
        r"(?P<value>\$(?:[1-9][a-z]?|y|gy|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?"
        r"|krb5(?:asrep|tgs|pa))\$(?:[^\s$\"'\\]{1,120}\$){0,5}[./A-Za-z0-9+=]{16,2000})"
    ),
    prefilter=r"\$(?:[1-9][a-z]?|y|gy|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|krb5(?:asrep|tgs|pa))\$",
    group=1,
    validator="not_placeholder",
    window=2200,
)
register(
    name="prefixed_token",
    kind="api_token",
    # vendor tokens share a shape: a short lowercase prefix, `_`/`-`, then a random tail
    # (aio_…, odt_…, live_…, pscale_tkn_…); the validator wants the tail to look random
    pattern=r"(?<![A-Za-z0-9_-])(?P<value>[A-Za-z]{2,12}[_-](?:[A-Za-z0-9]{1,12}[_-]){0,2}[A-Za-z0-9]{20,120})(?![A-Za-z0-9_-])",
    prefilter=r"[A-Za-z]{2}[_-](?:[A-Za-z0-9]{1,12}[_-]){0,2}[A-Za-z0-9]{20}",
    group=1,
    validator="random_tail",
)
register(
    name="netrc_password",
    kind="password",
    pattern=r"\blogin[ \t]+\S+\s+password[ \t]+(?P<value>[^\s\"']{4,200})",
    prefilter=r"login[ \t]+\S+\s+password[ \t]",
    group=1,
    validator="password_value",
)
register(
    name="xml_key_value",
    kind="generic_secret",
    # .NET appSettings: <add key="SmtpPassword" value="…"/>
    pattern=(
        r"(?i)key=\\?[\"'][^\"'\\]{0,60}(?:passw|secret|token|apikey|api_key)[^\"'\\]{0,60}"
        r"\\?[\"'][ \t]+value=\\?[\"'](?P<value>[^\"'\\]{4,200})"
    ),
    prefilter=r"(?i)key=\\?[\"'][^\"'\\]{0,60}(?:passw|secret|token|apikey|api_key)",
    group=1,
    validator="password_value",
)
