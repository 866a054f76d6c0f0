/* Reading a capture file into the analyzer with libpcap (pcap and pcapng),
 * with nanosecond time stamps where the file has them. */
#include <stdio.h>
#include <pcap/pcap.h>
#include "an_internal.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

static int link_of(int dlt, enum us_an_link *out)
{
    switch (dlt) {
    case DLT_EN10MB:
        *out = US_AN_LINK_ETH;
        return 0;
    case DLT_LINUX_SLL:
        *out = US_AN_LINK_SLL;
        return 0;
    case DLT_LINUX_SLL2:
        *out = US_AN_LINK_SLL2;
        return 0;
    case DLT_RAW:
    case DLT_IPV4:
        *out = US_AN_LINK_IPV4;
        return 0;
    default:
        return -1;
    }
}

int us_an_read_pcap(struct us_an *an, const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p) {
        snprintf(err, errlen, "%s: cannot read capture: %s", path, perr);
        return -1;
    }
    enum us_an_link link;
    int dlt = pcap_datalink(p);
    if (link_of(dlt, &link) < 0) {
        const char *name = pcap_datalink_val_to_name(dlt);
        snprintf(err, errlen, "%s: link type %s (%d) is not supported (allowed: EN10MB, LINUX_SLL, LINUX_SLL2, RAW)",
                 path, name ? name : "?", dlt);
        pcap_close(p);
        return -1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        us_time_t t = (us_time_t)h->ts.tv_sec * 1000000000ull + (us_time_t)h->ts.tv_usec; /* tv_usec holds ns */
        us_an_frame(an, link, t, data, h->caplen, h->len);
    }
    int ret = 0;
    if (rc == PCAP_ERROR) {
        snprintf(err, errlen, "%s: capture ends early: %s", path, pcap_geterr(p));
        ret = 1;
    }
    pcap_close(p);
    return ret;
}
