// bench/ledger_check: after a crash, checks a hub's data directory: every purchase id listed in
// --acked (those the hub answered 2xx, as recorded by loadgen --acked-ids) is stored, and the
// ledger invariants hold (for every member and program, balance = sum of entries = points left
// in lots). Opens the storage through the hub's own code; run it while no hub serves DIR.
//
//   ledger_check --data DIR [--acked acked.txt]
//
// Exit status: 0 all good, 1 a purchase is missing or an invariant is broken, 2 cannot check.

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "hub/hub.hpp"
#include "storage/storage.hpp"

namespace kizuna::bench {
namespace {

constexpr size_t kShown = 10;  // problems printed in full; the rest are counted

int Run(const std::string& data_dir, const std::string& acked_path) {
    std::vector<std::string> acked;
    if (!acked_path.empty()) {
        std::ifstream in(acked_path);
        if (!in) {
            std::cerr << "ledger_check: cannot read " << acked_path << '\n';
            return 2;
        }
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) acked.push_back(line);
        }
    }

    crypto::InitCrypto();
    hub::HubOptions options;
    options.data_dir = data_dir;
    auto opened = hub::Hub::Open(options);
    if (!opened) {
        std::cerr << "ledger_check: cannot open the hub data in " << data_dir << ": "
                  << opened.error().message << '\n';
        return 2;
    }
    storage::Storage& storage = (*opened)->storage();

    std::vector<std::string> missing;
    std::vector<std::string> violations;
    auto status = storage.Read([&](storage::ReadTxn& txn) -> core::Status {
        // Purchase ids are unique per store and the list names none: any store holding it will do.
        KZ_ASSIGN_OR_RETURN(auto stores, txn.ListStores());
        for (const auto& id : acked) {
            bool stored = false;
            for (std::size_t i = 0; i < stores.size() && !stored; ++i) {
                KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase(stores[i].store_id, id));
                stored = purchase.has_value();
            }
            if (!stored) missing.push_back(id);
        }
        KZ_ASSIGN_OR_RETURN(violations, txn.CheckLedgerInvariants());
        return core::Status::Ok();
    });
    if (!status.ok()) {
        std::cerr << "ledger_check: reading the storage failed: " << status.error().message << '\n';
        return 2;
    }

    for (size_t i = 0; i < missing.size() && i < kShown; ++i) {
        std::cout << "ledger_check: acknowledged purchase " << missing[i] << " is not stored\n";
    }
    for (size_t i = 0; i < violations.size() && i < kShown; ++i) {
        std::cout << "ledger_check: invariant broken: " << violations[i] << '\n';
    }
    std::cout << "ledger_check: " << acked.size() - missing.size() << " of " << acked.size()
              << " acknowledged purchases stored; " << violations.size()
              << " ledger invariant violations\n";
    return missing.empty() && violations.empty() ? 0 : 1;
}

}  // namespace
}  // namespace kizuna::bench

int main(int argc, char** argv) {
    std::string data_dir;
    std::string acked;
    CLI::App app{"Checks acknowledged purchases and ledger invariants in a hub data directory"};
    app.add_option("--data", data_dir, "the hub's data directory")->required();
    app.add_option("--acked", acked, "file of acknowledged purchase ids, one a line");
    CLI11_PARSE(app, argc, argv);
    try {
        return kizuna::bench::Run(data_dir, acked);
    } catch (const std::exception& e) {
        std::cerr << "ledger_check: " << e.what() << '\n';
        return 2;
    }
}
