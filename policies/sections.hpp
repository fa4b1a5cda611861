// Type-erased per-capability parts of the Model and of the CompiledConfig.
// The spine holds them without knowing their types: a capability reaches its
// own part with section<T>() (a missing one reads as an empty T) and fills it
// with mutable_section<T>(). Copies are deep, like the plain structs they hold.
#pragma once

#include <map>
#include <memory>
#include <typeindex>
#include <typeinfo>
#include <utility>

namespace vpcnet {

class Sections {
 public:
  Sections() = default;
  Sections(const Sections& other) { copy_from(other); }
  Sections& operator=(const Sections& other) {
    if (this != &other) {
      parts_.clear();
      copy_from(other);
    }
    return *this;
  }
  Sections(Sections&&) noexcept = default;
  Sections& operator=(Sections&&) noexcept = default;

  template <typename T>
  const T& get() const {
    auto it = parts_.find(std::type_index(typeid(T)));
    if (it == parts_.end()) {
      static const T empty{};
      return empty;
    }
    return static_cast<const Part<T>&>(*it->second).value;
  }

  template <typename T>
  T& get_mutable() {
    auto& p = parts_[std::type_index(typeid(T))];
    if (!p) p = std::make_unique<Part<T>>();
    return static_cast<Part<T>&>(*p).value;
  }

  template <typename T>
  bool has() const {
    return parts_.count(std::type_index(typeid(T))) > 0;
  }

  // Copies the parts of `other` whose type this one lacks.
  void fill_missing_from(const Sections& other) {
    for (const auto& [type, part] : other.parts_) {
      if (!parts_.count(type)) parts_.emplace(type, part->clone());
    }
  }

 private:
  struct PartBase {
    virtual ~PartBase() = default;
    virtual std::unique_ptr<PartBase> clone() const = 0;
  };
  template <typename T>
  struct Part : PartBase {
    T value{};
    std::unique_ptr<PartBase> clone() const override { return std::make_unique<Part<T>>(*this); }
  };

  void copy_from(const Sections& other) {
    for (const auto& [type, part] : other.parts_) parts_.emplace(type, part->clone());
  }

  std::map<std::type_index, std::unique_ptr<PartBase>> parts_;
};

}  // namespace vpcnet
