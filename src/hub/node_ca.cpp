#include "hub/node_ca.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

#include "hub/private_file.hpp"

namespace kizuna::hub {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::MakeError;

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(BIO* p) const { BIO_free(p); }
    void operator()(BIGNUM* p) const { BN_free(p); }
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

constexpr int kCaDays = 3650;
constexpr const char* kCaName = "kizuna hub node CA";
constexpr const char* kNodeOrganization = "kizuna store node";

core::Error OpenSslError(const std::string& what) {
    return MakeError(ErrorCode::kInternal, "OpenSSL could not " + what);
}

fs::path CaDir(const fs::path& data_dir) { return data_dir / "node-ca"; }

core::Result<std::string> ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kUnavailable, "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

core::Status WritePublicFile(const fs::path& path, const std::string& content) {
    if (fs::exists(path)) {
        return MakeError(ErrorCode::kAlreadyExists, path.string() + " exists; not overwritten");
    }
    std::ofstream out(path, std::ios::binary);
    out << content;
    out.close();
    if (!out) return MakeError(ErrorCode::kUnavailable, "cannot write " + path.string());
    return core::Status::Ok();
}

std::string Pem(EVP_PKEY* key) {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string Pem(X509* cert) {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

core::Result<Owned<X509>> CertFromPem(const std::string& pem) {
    Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return OpenSslError("read a certificate");
    return cert;
}

core::Result<Owned<EVP_PKEY>> KeyFromPem(const std::string& pem) {
    Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return OpenSslError("read a private key");
    return key;
}

core::Result<Owned<EVP_PKEY>> NewKey() {
    Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key) return OpenSslError("make an EC P-256 key");
    return key;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A certificate for `subject_key` named `common_name` (and `organization`), signed by
// `issuer_key` as `issuer` (none: self-signed), valid `days` from `now`.
core::Result<Owned<X509>> MakeCertificate(EVP_PKEY* subject_key, const std::string& common_name,
                                          const char* organization, X509* issuer,
                                          EVP_PKEY* issuer_key, core::Timestamp now, int days,
                                          bool is_ca) {
    Owned<X509> cert(X509_new());
    if (!cert) return OpenSslError("make a certificate");
    X509_set_version(cert.get(), 2);
    unsigned char serial_bytes[16];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return OpenSslError("draw a serial");
    serial_bytes[0] &= 0x7f;  // positive
    Owned<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
    if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
        return OpenSslError("set a serial");
    }
    const time_t start = static_cast<time_t>(core::ToUnixSeconds(now)) - 300;  // clock skew
    if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) ||
        !ASN1_TIME_adj(X509_getm_notAfter(cert.get()), start + 300, days, 0)) {
        return OpenSslError("set the validity");
    }
    X509_set_pubkey(cert.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(organization), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    bool ok = true;
    if (is_ca) {
        ok = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
             AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
    } else {
        ok = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
             AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
             AddExtension(cert.get(), signer, NID_ext_key_usage, "clientAuth") &&
             AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    }
    if (!ok) return OpenSslError("add the certificate's extensions");
    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : subject_key, EVP_sha256()) <=
        0) {
        return OpenSslError("sign the certificate");
    }
    return cert;
}

core::Timestamp ToTimestamp(const ASN1_TIME* time) {
    struct tm tm {};
    ASN1_TIME_to_tm(time, &tm);
    return core::FromUnixSeconds(static_cast<int64_t>(timegm(&tm)));
}

std::string SerialHex(X509* cert) {
    Owned<BIGNUM> bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr));
    char* hex = BN_bn2hex(bn.get());
    std::string text(hex);
    OPENSSL_free(hex);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string CommonName(X509* cert) {
    char buffer[256] = {};
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer,
                                      sizeof buffer);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

NodeCertificate Describe(X509* cert, const fs::path& path) {
    return NodeCertificate{SerialHex(cert), CommonName(cert),
                           ToTimestamp(X509_get0_notBefore(cert)),
                           ToTimestamp(X509_get0_notAfter(cert)), path.string()};
}

bool IsStoreId(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
    });
}

core::Status MakeDirectory(const fs::path& dir, fs::perms perms) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return MakeError(ErrorCode::kUnavailable, "cannot create " + dir.string());
    fs::permissions(dir, perms, ec);
    return core::Status::Ok();
}

// The CA's key and certificate, made on first use.
core::Status LoadOrCreateCa(const fs::path& data_dir, core::Timestamp now, Owned<EVP_PKEY>& key,
                            Owned<X509>& cert) {
    const fs::path dir = CaDir(data_dir);
    KZ_RETURN_IF_ERROR(MakeDirectory(dir, fs::perms::owner_all));
    KZ_RETURN_IF_ERROR(MakeDirectory(dir / "issued", fs::perms::owner_all));
    const fs::path key_path = dir / "ca.key";
    const fs::path cert_path = NodeCa::CertificatePath(data_dir);
    if (!fs::exists(key_path)) {
        KZ_ASSIGN_OR_RETURN(key, NewKey());
        KZ_ASSIGN_OR_RETURN(cert, MakeCertificate(key.get(), kCaName, kCaName, nullptr, nullptr,
                                                  now, kCaDays, /*is_ca=*/true));
        // The certificate first: a key without its certificate would be useless, while a
        // crash between the two leaves a certificate that the next start replaces.
        std::error_code ec;
        fs::remove(cert_path, ec);
        KZ_RETURN_IF_ERROR(WritePrivateFile(cert_path, Pem(cert.get())));
        KZ_RETURN_IF_ERROR(WritePrivateFile(key_path, Pem(key.get())));
        fs::permissions(cert_path,
                        fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read,
                        ec);
        return core::Status::Ok();
    }
    KZ_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(key_path));
    KZ_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(cert_path));
    KZ_ASSIGN_OR_RETURN(key, KeyFromPem(key_pem));
    KZ_ASSIGN_OR_RETURN(cert, CertFromPem(cert_pem));
    return core::Status::Ok();
}

}  // namespace

fs::path NodeCa::CertificatePath(const fs::path& data_dir) { return CaDir(data_dir) / "ca.crt"; }

core::Result<NodeCertificate> NodeCa::Issue(const fs::path& data_dir, const std::string& store_id,
                                            const fs::path& out_dir, core::Timestamp now) {
    if (!IsStoreId(store_id)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "a store id is 1..64 letters, digits, '_', '-', '.' or ':'", "store_id");
    }
    for (const char* name : {"node.crt", "node.key", "ca.crt"}) {
        if (fs::exists(out_dir / name)) {
            return MakeError(ErrorCode::kAlreadyExists,
                             (out_dir / name).string() + " exists; choose another --out");
        }
    }
    Owned<EVP_PKEY> ca_key;
    Owned<X509> ca_cert;
    KZ_RETURN_IF_ERROR(LoadOrCreateCa(data_dir, now, ca_key, ca_cert));
    KZ_ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, NewKey());
    KZ_ASSIGN_OR_RETURN(Owned<X509> cert,
                        MakeCertificate(key.get(), store_id, kNodeOrganization, ca_cert.get(),
                                        ca_key.get(), now, kNodeCertificateDays, false));
    const std::string cert_pem = Pem(cert.get());
    const fs::path copy = CaDir(data_dir) / "issued" / (SerialHex(cert.get()) + ".crt");
    KZ_RETURN_IF_ERROR(WritePrivateFile(copy, cert_pem));
    KZ_RETURN_IF_ERROR(MakeDirectory(out_dir, fs::perms::owner_all));
    KZ_RETURN_IF_ERROR(WritePrivateFile(out_dir / "node.key", Pem(key.get())));
    KZ_RETURN_IF_ERROR(WritePublicFile(out_dir / "node.crt", cert_pem));
    KZ_RETURN_IF_ERROR(WritePublicFile(out_dir / "ca.crt", Pem(ca_cert.get())));
    return Describe(cert.get(), copy);
}

core::Result<std::vector<NodeCertificate>> NodeCa::List(const fs::path& data_dir) {
    std::vector<NodeCertificate> list;
    const fs::path dir = CaDir(data_dir) / "issued";
    std::error_code ec;
    if (!fs::exists(dir, ec)) return list;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().extension() != ".crt") continue;
        KZ_ASSIGN_OR_RETURN(std::string pem, ReadFile(entry.path()));
        KZ_ASSIGN_OR_RETURN(Owned<X509> cert, CertFromPem(pem));
        list.push_back(Describe(cert.get(), entry.path()));
    }
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
        return a.not_before != b.not_before ? a.not_before < b.not_before : a.serial < b.serial;
    });
    return list;
}

}  // namespace kizuna::hub
