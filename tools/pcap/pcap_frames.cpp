#include "tools/pcap/pcap_frames.hpp"

#include <cstdio>

#include <pcap/pcap.h>

namespace vpcnet::pcap {
namespace {

Result<std::vector<Frame>> frames_of(pcap_t* p, const std::string& name) {
  if (pcap_datalink(p) != DLT_EN10MB) {
    pcap_close(p);
    return make_error(ErrorCode::io_error, name + ": not an Ethernet capture");
  }
  std::vector<Frame> frames;
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) frames.push_back({h->ts, std::vector<uint8_t>(data, data + h->caplen)});
  pcap_close(p);
  return frames;
}

}  // namespace

Result<std::vector<Frame>> read_frames(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) return make_error(ErrorCode::io_error, path + ": " + err);
  return frames_of(p, path);
}

Result<std::vector<Frame>> read_frames(const uint8_t* data, size_t size, const std::string& name) {
  // fmemopen of 0 bytes fails; an empty capture is a truncated header.
  if (size == 0) return make_error(ErrorCode::io_error, name + ": empty file, no pcap header");
  FILE* f = fmemopen(const_cast<uint8_t*>(data), size, "rb");
  if (f == nullptr) return make_error(ErrorCode::internal_error, name + ": cannot read from memory");
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline(f, err);  // pcap_close closes f; a failed open leaves it to us
  if (p == nullptr) {
    std::fclose(f);
    return make_error(ErrorCode::io_error, name + ": " + err);
  }
  return frames_of(p, name);
}

}  // namespace vpcnet::pcap
