// vpcctl: the command-line client of vpc-controld (docs/architecture.md,
// docs/rpc.md). The commands register themselves (tools/vpcctl/registry.hpp):
// the spine's in this folder, each capability's in its subfolder.
#include <csignal>

#include "tools/vpcctl/app.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return vpcctl::run(argc, argv);
}
