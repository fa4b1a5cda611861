#include "tools/vpcctl/app.hpp"

#include <exception>
#include <iostream>
#include <vector>

#include "tools/vpcctl/registry.hpp"

namespace vpcctl {

int run(int argc, char** argv) {
  CLI::App app{"vpcctl: manage vpcnet policy through vpc-controld"};
  app.require_subcommand(1);
  app.footer("Exit status: 0 success, 1 the request failed (error: file:line: field: message),\n"
             "2 the socket could not be reached.");
  Rpc rpc{default_socket()};
  app.add_option("--socket", rpc.socket,
                 "JSON-RPC socket to talk to (default: $VPCNET_SOCKET, else /run/vpcnet/controld.sock)");
  app.add_option("--timeout", rpc.timeout_s, "Seconds to wait for an answer")->capture_default_str();

  std::vector<Command::Added> added;
  for (const auto& c : commands()) added.push_back(c.add(app, rpc));

  CLI11_PARSE(app, argc, argv);

  try {
    for (const auto& a : added) {
      if (a.subcommand->parsed()) a.run();
    }
  } catch (const Exit& e) {
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailed;
  }
  return 0;
}

}  // namespace vpcctl
