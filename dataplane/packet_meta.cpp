#include "dataplane/packet_meta.hpp"

#include <mutex>
#include <string>

#include <fmt/format.h>

namespace vpcnet::dp {
namespace {

struct AreaRegistry {
  std::mutex mutex;
  size_t used = 0;
  std::string error;
};

AreaRegistry& area_registry() {
  static AreaRegistry r;  // function-local: safe from static-initialisation order
  return r;
}

}  // namespace

size_t register_meta_area(const char* name, size_t size, size_t align) {
  AreaRegistry& r = area_registry();
  std::lock_guard lock(r.mutex);
  const size_t offset = (r.used + align - 1) / align * align;
  if (offset + size > meta_area_bytes) {
    if (r.error.empty())
      r.error = fmt::format("packet metadata area of {} ({} bytes) does not fit: {} of {} bytes are taken", name, size,
                            r.used, meta_area_bytes);
    return 0;
  }
  r.used = offset + size;
  return offset;
}

const char* meta_area_error() {
  AreaRegistry& r = area_registry();
  std::lock_guard lock(r.mutex);
  return r.error.c_str();  // written only while registering, at start-up
}

}  // namespace vpcnet::dp
