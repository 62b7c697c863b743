// What an SSLContext shares with the sockets it wrapped: the mbedTLS configuration and what it
// points at (the random generator with the DTLS cookie secret, the own certificate chain and
// key, the trust anchors, the cipher suite list).
//
// mbedTLS keeps pointers: an mbedtls_ssl_context points at its configuration for its whole life,
// and the configuration points at the credentials.  So each piece is reference-counted on
// mbedTLS' heap, and a context that changes a configuration a socket uses first copies it.
// Changing or deleting a context then never touches an open socket, and the garbage collector
// may finalise a context and its sockets in any order.
#include <string.h>

#include "py/runtime.h"

#include "mbedtls/platform.h"
#if defined(MBEDTLS_PSA_CRYPTO_C)
#include "psa/crypto.h"
#endif

#include "mpssl.h"

static const char mpssl_personalisation[] = "mpssl";

// ---- the random generator ----

int mpssl_rng_random(void *p, unsigned char *out, size_t len) {
    mpssl_rng_t *rng = p;
    #if MICROPY_PY_THREAD
    mp_thread_mutex_lock(&rng->mutex, 1);
    #endif
    int ret = mbedtls_ctr_drbg_random(&rng->ctr_drbg, out, len);
    #if MICROPY_PY_THREAD
    mp_thread_mutex_unlock(&rng->mutex);
    #endif
    return ret;
}

// Reference counts of everything a context's configurations share change under the context's
// RNG mutex (all of them share that RNG): sockets of one context may be wrapped and finalised on
// two cores at once.  Nothing is freed while the mutex is held.
static void group_lock(mpssl_rng_t *rng) {
    #if MICROPY_PY_THREAD
    mp_thread_mutex_lock(&rng->mutex, 1);
    #else
    (void)rng;
    #endif
}

static void group_unlock(mpssl_rng_t *rng) {
    #if MICROPY_PY_THREAD
    mp_thread_mutex_unlock(&rng->mutex);
    #else
    (void)rng;
    #endif
}

static void ref(mpssl_rng_t *rng, size_t *refs) {
    group_lock(rng);
    ++*refs;
    group_unlock(rng);
}

// True when that was the last reference.
static bool unref(mpssl_rng_t *rng, size_t *refs) {
    group_lock(rng);
    bool last = --*refs == 0;
    group_unlock(rng);
    return last;
}

static void rng_free(mpssl_rng_t *rng) {
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    if (rng->has_cookie) {
        mbedtls_ssl_cookie_free(&rng->cookie);
    }
    #endif
    mbedtls_ctr_drbg_free(&rng->ctr_drbg);
    mbedtls_entropy_free(&rng->entropy);
    mbedtls_free(rng);
}

static int rng_new(mpssl_rng_t **out, bool dtls_server) {
    mpssl_rng_t *rng = mbedtls_calloc(1, sizeof(*rng));
    if (rng == NULL) {
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    rng->refs = 1;
    mbedtls_entropy_init(&rng->entropy);
    mbedtls_ctr_drbg_init(&rng->ctr_drbg);
    #if MICROPY_PY_THREAD
    mp_thread_mutex_init(&rng->mutex);
    #endif
    int ret = mbedtls_ctr_drbg_seed(&rng->ctr_drbg, mbedtls_entropy_func, &rng->entropy,
        (const unsigned char *)mpssl_personalisation, sizeof(mpssl_personalisation) - 1);
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    if (ret == 0 && dtls_server) {
        // One cookie secret per context: every configuration copied from it accepts the cookies
        // the others handed out, so a HelloVerify exchange survives a change to the context.
        mbedtls_ssl_cookie_init(&rng->cookie);
        rng->has_cookie = true;
        ret = mbedtls_ssl_cookie_setup(&rng->cookie, mpssl_rng_random, rng);
    }
    #else
    (void)dtls_server;
    #endif
    if (ret != 0) {
        rng_free(rng);
        return ret;
    }
    *out = rng;
    return 0;
}

// ---- credentials and trust anchors ----

int mpssl_creds_new(mpssl_creds_t **out) {
    mpssl_creds_t *creds = mbedtls_calloc(1, sizeof(*creds));
    if (creds == NULL) {
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    creds->refs = 1;
    mbedtls_x509_crt_init(&creds->chain);
    mbedtls_pk_init(&creds->key);
    *out = creds;
    return 0;
}

static void creds_free(mpssl_creds_t *creds) {
    mbedtls_pk_free(&creds->key);
    mbedtls_x509_crt_free(&creds->chain);
    mbedtls_free(creds);
}

static void trust_free(mpssl_trust_t *trust) {
    mbedtls_x509_crt_free(&trust->chain);
    mbedtls_free(trust);
}

// Credentials and trust stores no configuration has taken yet: nothing shares them.
void mpssl_creds_discard(mpssl_creds_t *creds) {
    if (creds != NULL) {
        creds_free(creds);
    }
}

void mpssl_trust_discard(mpssl_trust_t *trust) {
    if (trust != NULL) {
        trust_free(trust);
    }
}

int mpssl_trust_new(mpssl_trust_t **out, const mpssl_trust_t *from) {
    mpssl_trust_t *trust = mbedtls_calloc(1, sizeof(*trust));
    if (trust == NULL) {
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    trust->refs = 1;
    mbedtls_x509_crt_init(&trust->chain);
    // Each certificate keeps its DER: parse it again into the copy.
    for (const mbedtls_x509_crt *crt = from ? &from->chain : NULL; crt != NULL; crt = crt->next) {
        if (crt->raw.len == 0) {
            continue;
        }
        int ret = mbedtls_x509_crt_parse_der(&trust->chain, crt->raw.p, crt->raw.len);
        if (ret != 0) {
            trust_free(trust);
            return ret;
        }
    }
    *out = trust;
    return 0;
}

// ---- the configuration ----

mpssl_conf_t *mpssl_conf_retain(mpssl_conf_t *conf) {
    ref(conf->rng, &conf->refs);
    return conf;
}

static void release_creds(mpssl_rng_t *rng, mpssl_creds_t *creds) {
    if (creds != NULL && unref(rng, &creds->refs)) {
        creds_free(creds);
    }
}

static void release_trust(mpssl_rng_t *rng, mpssl_trust_t *trust) {
    if (trust != NULL && unref(rng, &trust->refs)) {
        trust_free(trust);
    }
}

void mpssl_conf_release(mpssl_conf_t *conf) {
    if (conf == NULL || !unref(conf->rng, &conf->refs)) {
        return;
    }
    mpssl_rng_t *rng = conf->rng;
    mbedtls_ssl_config_free(&conf->conf);
    release_creds(rng, conf->creds);
    release_trust(rng, conf->trust);
    mbedtls_free(conf->ciphersuites);
    #if defined(MBEDTLS_SSL_ALPN)
    mbedtls_free(conf->alpn);
    #endif
    mbedtls_free(conf);
    if (unref(rng, &rng->refs)) {
        rng_free(rng);
    }
}

// A configuration with the defaults of `protocol` on `rng` (taking over the caller's reference).
static int conf_alloc(mpssl_conf_t **out, uint8_t protocol, uint8_t verify_mode, mpssl_rng_t *rng) {
    mpssl_conf_t *conf = mbedtls_calloc(1, sizeof(*conf));
    if (conf == NULL) {
        if (unref(rng, &rng->refs)) {
            rng_free(rng);
        }
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    conf->refs = 1;
    conf->protocol = protocol;
    conf->rng = rng;
    mbedtls_ssl_config_init(&conf->conf);
    bool server = protocol & MPSSL_PROTOCOL_SERVER;
    bool dtls = protocol & MPSSL_PROTOCOL_DTLS;
    int ret = mbedtls_ssl_config_defaults(&conf->conf,
        server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
        dtls ? MBEDTLS_SSL_TRANSPORT_DATAGRAM : MBEDTLS_SSL_TRANSPORT_STREAM,
        MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        mpssl_conf_release(conf);
        return ret;
    }
    mbedtls_ssl_conf_rng(&conf->conf, mpssl_rng_random, rng);
    mpssl_conf_set_verify_mode(conf, verify_mode);
    #if defined(MBEDTLS_SSL_DTLS_HELLO_VERIFY)
    if (rng->has_cookie) {
        mbedtls_ssl_conf_dtls_cookies(&conf->conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check,
            &rng->cookie);
    }
    #endif
    *out = conf;
    return 0;
}

int mpssl_conf_new(mpssl_conf_t **out, uint8_t protocol, uint8_t verify_mode) {
    #if defined(MBEDTLS_PSA_CRYPTO_C)
    // TLS 1.3, and TLS 1.2 with MBEDTLS_USE_PSA_CRYPTO, need PSA; a second call costs nothing.
    if (psa_crypto_init() != PSA_SUCCESS) {
        return MBEDTLS_ERR_SSL_HW_ACCEL_FAILED;
    }
    #endif
    mpssl_rng_t *rng;
    int ret = rng_new(&rng, protocol == MPSSL_PROTOCOL_DTLS_SERVER);
    if (ret != 0) {
        return ret;
    }
    return conf_alloc(out, protocol, verify_mode, rng);
}

#if defined(MBEDTLS_SSL_ALPN)
static int set_alpn(mpssl_conf_t *conf, const char *names, size_t names_len, size_t count);
#endif

// A copy of `from`, sharing its random generator and credentials; its ALPN protocols too, with
// `with_alpn`.
static int conf_copy(mpssl_conf_t **out, const mpssl_conf_t *from, bool with_alpn) {
    ref(from->rng, &from->rng->refs);
    mpssl_conf_t *conf;
    int ret = conf_alloc(&conf, from->protocol, from->verify_mode, from->rng);
    if (ret != 0) {
        return ret;
    }
    if (from->ciphersuites != NULL) {
        size_t n = 0;
        while (from->ciphersuites[n] != 0) {
            ++n;
        }
        ret = mpssl_conf_set_ciphersuites(conf, from->ciphersuites, n);
    }
    #if defined(MBEDTLS_SSL_ALPN)
    if (ret == 0 && with_alpn && from->alpn != NULL) {
        ret = set_alpn(conf, (const char *)(from->alpn + from->alpn_count + 1), from->alpn_names_len,
            from->alpn_count);
    }
    #else
    (void)with_alpn;
    #endif
    if (ret == 0 && from->trust != NULL) {
        ref(from->rng, &from->trust->refs);
        mpssl_conf_set_trust(conf, from->trust);
    }
    if (ret == 0 && from->creds != NULL) {
        ref(from->rng, &from->creds->refs);
        ret = mpssl_conf_set_creds(conf, from->creds);
    }
    if (ret != 0) {
        mpssl_conf_release(conf);
        return ret;
    }
    *out = conf;
    return 0;
}

// *slot becomes a copy of itself (with or without its ALPN protocols); the old one is released.
static int replace_with_copy(mpssl_conf_t **slot, bool with_alpn) {
    mpssl_conf_t *copy;
    int ret = conf_copy(&copy, *slot, with_alpn);
    if (ret != 0) {
        return ret;
    }
    mpssl_conf_release(*slot);
    *slot = copy;
    return 0;
}

// (A context changed on one core while the other wraps a socket with it is the caller's race.)
int mpssl_conf_writable(mpssl_conf_t **slot) {
    group_lock((*slot)->rng);
    bool shared = (*slot)->refs > 1;
    group_unlock((*slot)->rng);
    if (!shared) {
        return 0;
    }
    return replace_with_copy(slot, true);
}

void mpssl_conf_set_verify_mode(mpssl_conf_t *conf, uint8_t mode) {
    conf->verify_mode = mode;
    mbedtls_ssl_conf_authmode(&conf->conf, mode);
}

int mpssl_conf_set_creds(mpssl_conf_t *conf, mpssl_creds_t *creds) {
    // mbedTLS keeps a list of (chain, key) pairs; NULL empties it, so this replaces.
    int ret = mbedtls_ssl_conf_own_cert(&conf->conf, NULL, NULL);
    if (ret == 0) {
        ret = mbedtls_ssl_conf_own_cert(&conf->conf, &creds->chain, &creds->key);
    }
    if (ret != 0) {
        release_creds(conf->rng, creds);
        // Put the previous pair back; it was in the list a moment ago.
        if (conf->creds != NULL
            && mbedtls_ssl_conf_own_cert(&conf->conf, &conf->creds->chain, &conf->creds->key) != 0) {
            release_creds(conf->rng, conf->creds);
            conf->creds = NULL;
        }
        return ret;
    }
    release_creds(conf->rng, conf->creds);
    conf->creds = creds;
    return 0;
}

void mpssl_conf_set_trust(mpssl_conf_t *conf, mpssl_trust_t *trust) {
    mbedtls_ssl_conf_ca_chain(&conf->conf, &trust->chain, NULL);
    release_trust(conf->rng, conf->trust);
    conf->trust = trust;
}

int mpssl_conf_set_ciphersuites(mpssl_conf_t *conf, const int *ids, size_t n) {
    int *list = mbedtls_calloc(n + 1, sizeof(int));
    if (list == NULL) {
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    memcpy(list, ids, n * sizeof(int));
    list[n] = 0;
    mbedtls_ssl_conf_ciphersuites(&conf->conf, list);
    mbedtls_free(conf->ciphersuites);
    conf->ciphersuites = list;
    return 0;
}

#if defined(MBEDTLS_SSL_ALPN)
// One allocation: the NULL-terminated pointer list mbedTLS keeps, then the names it points into.
static int set_alpn(mpssl_conf_t *conf, const char *names, size_t names_len, size_t count) {
    const char **list = mbedtls_calloc(1, (count + 1) * sizeof(char *) + names_len);
    if (list == NULL) {
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    }
    char *copy = (char *)(list + count + 1);
    memcpy(copy, names, names_len);
    for (size_t i = 0; i < count; ++i) {
        list[i] = copy;
        copy += strlen(copy) + 1;
    }
    list[count] = NULL;
    int ret = mbedtls_ssl_conf_alpn_protocols(&conf->conf, list);
    if (ret != 0) {
        mbedtls_free(list);
        return ret;
    }
    mbedtls_free(conf->alpn);
    conf->alpn = list;
    conf->alpn_count = count;
    conf->alpn_names_len = names_len;
    return 0;
}

int mpssl_conf_set_alpn(mpssl_conf_t **slot, const char *names, size_t names_len, size_t count) {
    if (count > 0) {
        int ret = mpssl_conf_writable(slot);
        return ret != 0 ? ret : set_alpn(*slot, names, names_len, count);
    }
    if ((*slot)->alpn == NULL) {
        return 0;
    }
    // mbedTLS has no call that takes a configuration's ALPN list away (an empty list would send an
    // empty extension): a copy without one replaces it.
    return replace_with_copy(slot, false);
}
#endif
