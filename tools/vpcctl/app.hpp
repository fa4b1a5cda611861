// vpcctl's command line: the global options, then every registered command.
#pragma once

namespace vpcctl {

// Parses the command line, runs the chosen command; returns the exit status
// (0 success, 1 the request failed, 2 the daemon could not be reached).
int run(int argc, char** argv);

}  // namespace vpcctl
