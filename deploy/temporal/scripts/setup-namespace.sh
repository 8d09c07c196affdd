#!/bin/sh
# One-shot job run in temporalio/admin-tools (service `temporal-namespace`).
#
# Creates the namespace sopflow runs in (if missing) and registers sopflow's
# custom search attributes on it. Safe to run on every `up`: an existing
# namespace is left as is, and registering an attribute that already exists
# with the same type is a no-op. An attribute that exists with a DIFFERENT
# type is an error (the job fails and says which one).
#
# Keep these lists in step with the search attributes the workflows upsert
# (and with the ones the dev server registers).
set -eu

NAMESPACE="${NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-168h}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"

KEYWORD_ATTRIBUTES="AccountNumber PoNumber OrderStatus CsrStatus ContactStatus Assignee StoreId BusinessUnit"
KEYWORD_ATTRIBUTES="$KEYWORD_ATTRIBUTES DeliveryStatus"  # open orders (issue 9)
KEYWORD_ATTRIBUTES="$KEYWORD_ATTRIBUTES AccountManager"  # account changes (issue 10)
# SQL visibility stores hold 10 Keyword, 3 KeywordList and 3 Text attributes.
DATETIME_ATTRIBUTES="DueAt"
DATETIME_ATTRIBUTES="$DATETIME_ATTRIBUTES ContactDate"  # open orders (issue 9)
KEYWORD_LIST_ATTRIBUTES="HoldCodes OrderCode IncidentId"
TEXT_ATTRIBUTES="RequestKind"
BOOL_ATTRIBUTES="SlaBreached"

# Like the official create-namespace.sh: talk to the server by its IPv4 address.
host="${ADDRESS%:*}"
port="${ADDRESS##*:}"
ip="$(getent ahosts "$host" 2>/dev/null | grep STREAM | head -1 | awk '{print $1}' || true)"
if [ -n "$ip" ]; then
    ADDRESS="$ip:$port"
fi
echo "Temporal frontend: $host:$port ($ADDRESS)"

echo "Waiting for the Temporal server to be healthy ..."
tries=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "Temporal server did not become healthy" >&2
        temporal operator cluster health --address "$ADDRESS" || true
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
    echo "Namespace '$NAMESPACE' already exists"
else
    echo "Creating namespace '$NAMESPACE' (retention $RETENTION)"
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
fi

# One call per attribute: with several `--name`s in one call, some CLI
# versions register only the first one.
register() {
    name="$1"
    type="$2"
    tries=0
    while :; do
        # A namespace just created takes a few seconds to reach the frontend's
        # namespace cache ("Namespace ... is not found"), so retry a while.
        if out="$(temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type "$type" --address "$ADDRESS" 2>&1)"; then
            echo "$name ($type): ${out:-ok}"
            return 0
        fi
        echo "$out" >&2
        case "$out" in
            *"different type"*) return 1 ;;
        esac
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            return 1
        fi
        sleep 2
    done
}

for name in $KEYWORD_ATTRIBUTES; do
    register "$name" Keyword
done
for name in $DATETIME_ATTRIBUTES; do
    register "$name" Datetime
done
for name in $KEYWORD_LIST_ATTRIBUTES; do
    register "$name" KeywordList
done
for name in $BOOL_ATTRIBUTES; do
    register "$name" Bool
done
for name in $TEXT_ATTRIBUTES; do
    register "$name" Text
done

# Read back: every attribute must now be on the namespace with its type.
listing="$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS")"
missing=""
for name in $KEYWORD_ATTRIBUTES; do
    echo "$listing" | grep -Eq "(^|[[:space:]])${name}[[:space:]]+Keyword([[:space:]]|$)" || missing="$missing $name(Keyword)"
done
for name in $DATETIME_ATTRIBUTES; do
    echo "$listing" | grep -Eq "(^|[[:space:]])${name}[[:space:]]+Datetime([[:space:]]|$)" || missing="$missing $name(Datetime)"
done
if [ -n "$missing" ]; then
    echo "Missing search attributes on '$NAMESPACE':$missing" >&2
    exit 1
fi
echo "Namespace '$NAMESPACE' is ready with search attributes: $KEYWORD_ATTRIBUTES $DATETIME_ATTRIBUTES"
