#!/usr/bin/env bash
# Runs a smoke app against the binding jsii-pacmak built into dist/ (run `npx projen package:<lang>` first).
#   smoke/run.sh python|java|go
# Each app synthesizes VpcCniOwnership on an aws-eks-v2 cluster in that language and checks the template.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cdk_version="$(node -p "require('$root/package.json').devDependencies['aws-cdk-lib']")"
constructs_version="$(node -p "require('$root/package.json').devDependencies['constructs']")"
version="$(node -p "require('$root/package.json').version")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

case "${1:-}" in
  python)
    # A fresh virtualenv: the wheel we built, aws-cdk-lib and constructs from PyPI.
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check \
      "$root"/dist/python/cdk_vpc_cni_ownership-"$version"-py3-none-any.whl \
      "aws-cdk-lib==$cdk_version" "constructs==$constructs_version"
    "$work/venv/bin/python" "$root/smoke/python/app.py"
    ;;
  java)
    # The jar from dist/java (a Maven repository), aws-cdk-lib from Maven Central.
    cp -r "$root/smoke/java" "$work/java"
    mvn --batch-mode --quiet -f "$work/java/pom.xml" \
      -Dbinding.repository="file://$root/dist/java" -Dbinding.version="$version" -Dcdk.version="$cdk_version" \
      compile exec:java
    ;;
  go)
    # The generated module from dist/go, replaced in; aws-cdk-go from the Go module proxy.
    cp -r "$root/smoke/go" "$work/go"
    binding="$root/dist/go/cdkvpccniownership"
    module="$(awk '/^module /{print $2}' "$binding/go.mod")"
    cd "$work/go"
    go mod init smoke >/dev/null 2>&1
    go mod edit -replace "$module=$binding"
    # The module proxy here lacks some versions the generated go.mod names: use the nearest newer
    # one it has (or, for an indirect pin with none newer, the newest older one).
    while read -r dep want; do
      go mod download "$dep@$want" >/dev/null 2>&1 && continue
      have="$(go list -m -versions "$dep" | tr ' ' '\n' | sed 1d | awk -v w="$want" '
        function v(s,  a){ sub(/^v/,"",s); split(s,a,/[.-]/); return a[1]*1e8+a[2]*1e4+a[3] }
        { last = $0 } v($0) >= v(w) && !newer { newer = $0 } END { print (newer ? newer : last) }')"
      [[ -n "$have" ]] || { echo "smoke: no version of $dep is available" >&2; exit 1; }
      echo "smoke: $dep $want is not available here; using $have" >&2
      go mod edit -replace "$dep@$want=$dep@$have"
    done < <(awk '/^\t[a-z]/ {print $1, $2}' "$binding/go.mod")
    go mod edit -require "$module@v0.0.0"
    go mod tidy
    go run .
    ;;
  *)
    echo "usage: smoke/run.sh python|java|go" >&2
    exit 2
    ;;
esac
