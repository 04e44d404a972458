// Identity and key file: signatures checked with libsodium directly, key files on a real
// temporary directory.
#include "farmhand/identity/identity.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "farmhand/error.hpp"
#include "farmhand/identity/key_file.hpp"

namespace farmhand::identity {
namespace {

namespace fs = std::filesystem;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand_identity_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  static std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void write_text(const fs::path& p, const std::string& s, unsigned mode) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
    ::chmod(p.c_str(), mode);
  }
  static std::string key_error(const fs::path& p) {
    try {
      (void)Identity::load_or_create(p);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kKeyFile);
      return e.what();
    }
    ADD_FAILURE() << "no error for " << p;
    return "";
  }

  fs::path dir_;
};

bool verifies(const Identity& id, const std::string& sig_hex, const std::string& msg) {
  std::array<std::uint8_t, crypto_sign_BYTES> sig{};
  size_t len = 0;
  if (sodium_hex2bin(sig.data(), sig.size(), sig_hex.data(), sig_hex.size(), nullptr, &len,
                     nullptr) != 0 ||
      len != sig.size()) {
    return false;
  }
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(msg.data()),
                                     msg.size(), id.public_key().data()) == 0;
}

TEST_F(IdentityTest, SignatureVerifiesWithLibsodiumAndFailsOnAFlippedBit) {
  const Identity id = Identity::load_or_create(dir_ / "worker.key");
  const std::string msg = "farmhand-auth-v1:3f9a0c";
  const std::string sig = id.sign_hex(msg);
  ASSERT_EQ(sig.size(), 128U);
  EXPECT_TRUE(verifies(id, sig, msg));

  std::string flipped_msg = msg;
  flipped_msg[5] = static_cast<char>(flipped_msg[5] ^ 0x01);
  EXPECT_FALSE(verifies(id, sig, flipped_msg));

  std::string flipped_sig = sig;  // flip the lowest bit of the first signature byte
  flipped_sig[1] = flipped_sig[1] == '0' ? '1' : (flipped_sig[1] == '1' ? '0' : '0');
  ASSERT_NE(flipped_sig, sig);
  EXPECT_FALSE(verifies(id, flipped_sig, msg));
}

TEST_F(IdentityTest, AddressIs0xAnd64LowerCaseHexOfThePublicKey) {
  const Identity id = Identity::load_or_create(dir_ / "worker.key");
  EXPECT_TRUE(std::regex_match(id.address(), std::regex("0x[0-9a-f]{64}"))) << id.address();
  EXPECT_EQ(id.address(), "0x" + to_hex(id.public_key().data(), id.public_key().size()));
}

TEST_F(IdentityTest, RFC8032TestVector1) {
  // RFC 8032 §7.1, TEST 1: secret key (seed), public key, and the signature of "".
  SecureBuffer seed(32);
  const std::string seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  sodium_hex2bin(seed.data(), 32, seed_hex.data(), 64, nullptr, nullptr, nullptr);
  const Identity id = Identity::from_seed(seed);
  EXPECT_EQ(id.address(), "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(id.sign_hex(""),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST_F(IdentityTest, CreatesKeyFileWithMode0600AndNoTemporaryLeftBehind) {
  const fs::path key = dir_ / "sub" / "worker.key";
  const Identity id = Identity::load_or_create(key);
  EXPECT_EQ(mode_of(key), 0600U);
  const std::string text = read_text(key);
  EXPECT_EQ(text.size(), 90U);
  EXPECT_TRUE(std::regex_match(text, std::regex("farmhand-ed25519-seed-v1:[0-9a-f]{64}\n")));
  EXPECT_EQ(std::distance(fs::directory_iterator(key.parent_path()), fs::directory_iterator{}), 1);
  EXPECT_EQ(mode_of(key.parent_path()), 0700U);
}

TEST_F(IdentityTest, LoadingAgainGivesTheSameAddressAndDoesNotRewrite) {
  const fs::path key = dir_ / "worker.key";
  const std::string first = Identity::load_or_create(key).address();
  const std::string text = read_text(key);
  EXPECT_EQ(Identity::load_or_create(key).address(), first);
  EXPECT_EQ(read_text(key), text);
}

TEST_F(IdentityTest, DifferentKeyFilesGiveDifferentAddresses) {
  EXPECT_NE(Identity::load_or_create(dir_ / "a.key").address(),
            Identity::load_or_create(dir_ / "b.key").address());
}

TEST_F(IdentityTest, RefusesKeyFileReadableByGroupOrOthersNamingPathAndFix) {
  const fs::path key = dir_ / "worker.key";
  (void)Identity::load_or_create(key);
  for (const unsigned mode : {0644U, 0640U, 0604U, 0660U, 0620U}) {
    ::chmod(key.c_str(), mode);
    const std::string msg = key_error(key);
    EXPECT_NE(msg.find("chmod 600 " + key.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(key.string()), std::string::npos) << msg;
  }
  ::chmod(key.c_str(), 0600);
  EXPECT_NO_THROW((void)Identity::load_or_create(key));
  ::chmod(key.c_str(), 0400);
  EXPECT_NO_THROW((void)Identity::load_or_create(key));
}

TEST_F(IdentityTest, RefusesMalformedKeyFiles) {
  const fs::path key = dir_ / "worker.key";
  const std::string good_hex(64, 'a');
  for (const std::string& bad : {std::string(""), std::string("hello\n"),
                                 "farmhand-ed25519-seed-v1:" + std::string(63, 'a') + "\n",
                                 "farmhand-ed25519-seed-v1:" + std::string(64, 'g') + "\n",
                                 "farmhand-ed25519-seed-v2:" + good_hex + "\n",
                                 "farmhand-ed25519-seed-v1:" + good_hex + "\nextra"}) {
    write_text(key, bad, 0600);
    const std::string msg = key_error(key);
    EXPECT_NE(msg.find("not"), std::string::npos) << msg;
  }
  write_text(key, "farmhand-ed25519-seed-v1:" + good_hex, 0600);  // no final newline: fine
  EXPECT_NO_THROW((void)Identity::load_or_create(key));
}

TEST_F(IdentityTest, RefusesADirectoryAsKeyFile) {
  fs::create_directories(dir_ / "worker.key");
  ::chmod((dir_ / "worker.key").c_str(), 0700);
  EXPECT_NE(key_error(dir_ / "worker.key").find("regular file"), std::string::npos);
}

TEST_F(IdentityTest, UncreatableDirectoryIsKeyFileError) {
  // A regular file where the key's directory should be: fails even for root.
  write_text(dir_ / "not_a_dir", "x", 0600);
  const std::string msg = key_error(dir_ / "not_a_dir" / "worker.key");
  EXPECT_NE(msg.find("cannot"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not_a_dir"), std::string::npos) << msg;
}

TEST_F(IdentityTest, FromSeedRejectsWrongSize) {
  SecureBuffer short_seed(16);
  EXPECT_THROW((void)Identity::from_seed(short_seed), Error);
}

TEST(SecureBufferTest, MoveTransfersOwnership) {
  SecureBuffer a(32);
  a.data()[0] = 7;
  SecureBuffer b(std::move(a));
  EXPECT_EQ(b.size(), 32U);
  EXPECT_EQ(b.data()[0], 7);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): pins the moved-from state
}

}  // namespace
}  // namespace farmhand::identity
