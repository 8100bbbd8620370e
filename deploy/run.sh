#!/usr/bin/env bash
# Serve the app from several Streamlit processes behind nginx (sticky sessions).
#
#   deploy/run.sh [REPLICAS] [PORT]        e.g. deploy/run.sh 2 8080
#
# Each replica is `streamlit run app/Home.py` on 127.0.0.1:(REPLICA_BASE_PORT + i; default
# 8601) with its own
# training cap (PG_MAX_TRAININGS, default 1 per replica); nginx listens on PORT (default
# 8080) and keeps each visitor on one replica. Ctrl-C (or SIGTERM) stops all of them.
# Needs Debian's nginx (apt-get install nginx-light) and the project's venv (make run once).
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=${1:-2}
port=${2:-8080}
python=${PYTHON:-.venv/bin/python}
prefix=$(mktemp -d -t pg-nginx-XXXXXX)
mkdir -p "$prefix"/{client_body,proxy,fastcgi,uwsgi,scgi}

# Replicas share one cookie secret so a visitor's XSRF cookie stays valid if nginx ever
# has to move them (a replica restarted).
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT INT TERM

upstreams=""
for ((i = 0; i < replicas; i++)); do
  replica_port=$((${REPLICA_BASE_PORT:-8601} + i))
  setsid "$python" -m streamlit run app/Home.py --server.headless true --server.address 127.0.0.1 \
    --server.port "$replica_port" --browser.gatherUsageStats false --server.fileWatcherType none &
  pids+=($!)
  upstreams+="        server 127.0.0.1:${replica_port} max_fails=1 fail_timeout=5s;"$'\n'
done

sed -e "s|@LISTEN@|${port}|" -e "s|@PREFIX@|${prefix}|g" deploy/nginx.conf.template \
  | awk -v ups="$upstreams" '{ if ($0 == "@UPSTREAMS@") printf "%s", ups; else print }' > "$prefix/nginx.conf"
nginx -t -q -c "$prefix/nginx.conf" -p "$prefix"
setsid nginx -c "$prefix/nginx.conf" -p "$prefix" &
pids+=($!)
echo "serving on http://127.0.0.1:${port} (${replicas} replicas from port ${REPLICA_BASE_PORT:-8601})"
wait -n "${pids[@]}"
