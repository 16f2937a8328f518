#!/usr/bin/env bash
# Vendors GraphiQL and the React it runs on into web/vendor/graphiql/, from the npm registry:
# `npm pack` of exact versions, the browser (UMD) builds and licences copied byte for byte.
# The server compiles these files in (src/http/graphiql.rs), so GraphiQL works offline.
#
# To update: change the versions below, run this script, check GraphiQL in a browser, and
# update the versions in web/vendor/README.md (the script prints the checksums).
# GraphiQL 4.x is the last line with a UMD build (5.x is ESM only, built on Monaco); it needs
# React 18 (19 ships no UMD build).
set -euo pipefail
GRAPHIQL=4.1.2
REACT=18.3.1

cd "$(dirname "$0")/.."
out=web/vendor/graphiql
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for package in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  mkdir "$work/$package"
  tar xzf "$work/$package.tgz" -C "$work/$package"
done

rm -rf "$out"
mkdir -p "$out"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$out/graphiql.min.js"
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" "$out/graphiql.min.css"
cp "$work/graphiql-$GRAPHIQL/package/LICENSE" "$out/LICENSE.graphiql"
cp "$work/react-$REACT/package/umd/react.production.min.js" "$out/react.production.min.js"
cp "$work/react-$REACT/package/LICENSE" "$out/LICENSE.react"
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" "$out/react-dom.production.min.js"
cp "$work/react-dom-$REACT/package/LICENSE" "$out/LICENSE.react-dom"

echo "graphiql $GRAPHIQL, react $REACT, react-dom $REACT:"
(cd "$out" && sha256sum -- *)
