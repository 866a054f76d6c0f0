# A generated page with twenty resources for the page tests and bench
# (source it): make_site DIR HOST writes DIR/index.html (a stylesheet, 16
# images, 3 scripts named by http://HOST/, and traps: a canonical link, a CDN
# script, a commented-out image, a duplicate) and the resources; RES lists
# the 20 resource paths, N their count. Random text without CR or LF, so
# tshark, reading each segment on its own, takes no body for a message.
rnd() { head -c $(($1 * 3 / 4 + 3)) /dev/urandom | base64 -w0 | head -c "$1"; }
make_site() {
    local www=$1 host=$2 i
    mkdir -p "$www/img" "$www/css" "$www/js"
    RES=()
    {
        echo '<!DOCTYPE html><html><head><title>page</title>'
        echo '<link rel="stylesheet" href="/css/site.css"><link rel="canonical" href="/">'
        echo '<script src="http://cdn.example.test/x.js"></script><!-- <img src="img/gone.png"> -->'
    } >"$www/index.html"
    rnd 9000 >"$www/css/site.css"; RES+=(css/site.css)
    for i in $(seq 1 16); do
        rnd $((i * 4099 + 500)) >"$www/img/p$i.jpg"; RES+=("img/p$i.jpg")
        echo "<img src=\"img/p$i.jpg\" alt=\"$i\">" >>"$www/index.html"
    done
    for i in 1 2 3; do
        rnd $((i * 30011)) >"$www/js/s$i.js"; RES+=("js/s$i.js")
        echo "<script src='http://$host/js/s$i.js'></script>" >>"$www/index.html"
    done
    echo '<img src="img/p1.jpg"></head></html>' >>"$www/index.html"
    N=${#RES[@]}
}
# byte_exact WWW DIR NAME: the page and every resource saved in DIR (by
# page --save) equal the files under WWW
byte_exact() {
    cmp -s "$1/index.html" "$2/index" || fail "$3: the page differs"
    local f
    for f in "${RES[@]}"; do
        cmp -s "$1/$f" "$2/${f//\//_}" || fail "$3: $f differs ($(stat -c %s "$2/${f//\//_}" 2>/dev/null) bytes)"
    done
    [ "$(ls "$2" | wc -l)" = $((N + 1)) ] || fail "$3: $(ls "$2" | wc -l) bodies saved, expected $((N + 1))"
}
