#include "strom/config/errc.h"

#include <string>

namespace strom::config {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "strom.config"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::file_not_found:
        return "configuration file not found";
      case errc::io_error:
        return "cannot read configuration file";
      case errc::syntax_error:
        return "configuration is not valid YAML";
      case errc::unknown_key:
        return "unknown configuration key";
      case errc::duplicate_key:
        return "duplicate configuration key";
      case errc::type_mismatch:
        return "configuration value has the wrong type";
      case errc::out_of_range:
        return "configuration value out of range";
      case errc::invalid_value:
        return "configuration value not allowed";
      case errc::missing_key:
        return "required configuration key missing";
      case errc::invalid_combination:
        return "inconsistent configuration";
    }
    return "unknown configuration error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace strom::config
