// vpc-controld's flow logs (docs/operations.md, "Flow logs"): the flow
// records the data plane hands out (`flows.collect`) become AWS VPC Flow Logs
// version 5 records (plus `encryption-status`), written to a text file in
// AWS's space-separated format and to a JSON-lines file. One job per part:
//
//   flow_record.hpp         reading and checking a data-plane record (untrusted JSON)
//   flow_log_entry.hpp      a record -> AWS entries (per interface, per direction)
//   flow_log_format.hpp     an entry -> text line / JSON line
//   rotating_file.hpp       appending to a file that rotates at a size
//   flow_log_writer.hpp     a flows.collect result -> the two files
//   flow_log_collector.hpp  polling the data plane
//
// This header includes them all: one include for whoever uses flow logs.
#pragma once

#include "control/flow_log_collector.hpp"
#include "control/flow_log_entry.hpp"
#include "control/flow_log_format.hpp"
#include "control/flow_log_options.hpp"
#include "control/flow_log_writer.hpp"
#include "control/flow_record.hpp"
