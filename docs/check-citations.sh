#!/usr/bin/env bash
# Checks that every section citation of the protocol notes resolves to a heading in docs/.
#
# Citations looked for (in *.rs and *.md files outside docs/):
#   PROTOCOL.md §8.5            CLIENT.md §0            DATA-MODEL.md §2.1
#   PROTOCOL.md §5.2–5.4        PROTOCOL.md §8–§10      (ranges: both ends are checked)
#   PROTOCOL.md §8.2, §8.6, §11 CLIENT.md §3.1 and §4   (lists: every item is checked)
#   IDENTITY.md §§2–3, 6, 8–9   PROTOCOL.md §§4–12      (after §§, bare numbers count too)
# Inside docs/*.md the same forms are checked, and a bare `§N.M` there refers to the file it is in.
#
# A citation §X needs a heading "## X. Title" (or "## X Title"); §X.Y needs "### X.Y Title"
# (any heading level 2-4). `--list` prints the extracted citations instead. Exit 0 when everything resolves, 1 otherwise (missing ones listed).
# Needs only bash, grep, sed, awk, sort.

set -euo pipefail
export LC_ALL=C

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
docs=docs
files_re='PROTOCOL|CLIENT|IDENTITY|DATA-MODEL'

# One section number, optionally a range, then optional list items.
num='[0-9]+(\.[0-9]+)?'
range="(( ?– ?|-)(§)?$num)?"
sec="(§§|§)$num$range"
cont="( ?(,|/| and| &) ?(§§|§)?$num$range)*"
cited="($files_re)\.md +$sec$cont"
any="(($files_re)\.md +)?$sec$cont"

# Emit "path:line:match" for code/docs outside docs/, then for docs/ itself.
scan() {
    find . \( -path ./.git -o -path ./target -o -path "./$docs" -o -name node_modules \) -prune -o \
        -type f \( -name '*.rs' -o -name '*.md' \) -print0 |
        xargs -0 -r grep -HnoE "$cited" -- 2>/dev/null || true
    grep -HnoE "$any" -- "$docs"/*.md 2>/dev/null || true
}

# Turn each match into lines "FILE.md<TAB>number<TAB>where".
expand() {
    awk '
    function emit(file, n, where) {
        if (n ~ /^[0-9]+(\.[0-9]+)?$/) print file "\t" n "\t" where
    }
    {
        # path:line:match (path has no colon in this repository)
        p1 = index($0, ":"); path = substr($0, 1, p1 - 1); rest = substr($0, p1 + 1)
        p2 = index(rest, ":"); line = substr(rest, 1, p2 - 1); m = substr(rest, p2 + 1)
        where = substr(path, 3) ":" line
        if (match(m, /^(PROTOCOL|CLIENT|IDENTITY|DATA-MODEL)\.md +/)) {
            file = m; sub(/\.md.*/, ".md", file)
            m = substr(m, RLENGTH + 1)
        } else {
            # bare reference inside a docs file: it points into that same file
            file = path; sub(/.*\//, "", file)
            if (path !~ /^\.?\/?docs\// || file !~ /^(PROTOCOL|CLIENT|IDENTITY|DATA-MODEL)\.md$/) next
        }
        plural = index(m, "§§") > 0
        gsub(/ and | & /, ",", m); gsub(/\//, ",", m)
        gsub(/–/, "-", m)
        n = split(m, items, ",")
        for (i = 1; i <= n; i++) {
            it = items[i]
            has_sect = index(it, "§") > 0
            gsub(/§/, "", it); gsub(/ /, "", it)
            if (it == "") continue
            if (!has_sect && !plural) continue   # e.g. "§12.2, 5 posts": not a section
            k = split(it, ends, "-")
            emit(file, ends[1], where)
            if (k > 1) emit(file, ends[k], where)
        }
    }'
}

citations="$(scan | sed 's#^\([^.]\)#./\1#' | expand | sort -u)"
if [[ "${1:-}" == "--list" ]]; then   # show what was extracted, one "FILE<TAB>§<TAB>where" a line
    printf '%s\n' "$citations"
    exit 0
fi
if [[ -z "$citations" ]]; then
    echo "check-citations: no citations found (run from the repository?)" >&2
    exit 1
fi

missing=0
checked=0
occurrences=0
declare -A seen=()
while IFS=$'\t' read -r file number where; do
    occurrences=$((occurrences + 1))
    key="$file §$number"
    if [[ -z "${seen[$key]+x}" ]]; then
        checked=$((checked + 1))
        esc="${number//./\\.}"
        if [[ -f "$docs/$file" ]] && grep -qE "^#{2,4} $esc\.?( |$)" "$docs/$file"; then
            seen[$key]=ok
        else
            seen[$key]=missing
        fi
    fi
    if [[ "${seen[$key]}" == missing ]]; then
        echo "missing: $key  (cited at $where)"
        missing=$((missing + 1))
    fi
done <<<"$citations"

if ((missing > 0)); then
    echo "check-citations: $missing citation(s) without a matching heading in $docs/" >&2
    exit 1
fi
echo "check-citations: all $checked distinct citations resolve ($occurrences citing locations)"
