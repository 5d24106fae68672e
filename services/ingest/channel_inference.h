// Which channel a touchpoint happened on, when the sender did not say: from the event name
// (off-site touchpoints: Email Opened, Ad Clicked, Store Visited, Support Ticket ...),
// then the campaign medium, then the context (an app or a web page).
#pragma once

#include "journey/common/v1/common.pb.h"

namespace journey::ingest {

journey::common::v1::Channel InferChannel(const journey::common::v1::Event& event);

}  // namespace journey::ingest
