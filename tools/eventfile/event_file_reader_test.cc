// Each supported file format turns into the events the suite's journey definition knows.
#include "tools/eventfile/event_file_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace journey::eventfile {
namespace {

namespace cv1 = journey::common::v1;

std::string WriteTemp(const std::string& content) {
  char tmpl[] = "/tmp/eventfile-test-XXXXXX";
  const int fd = mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << content;
  return tmpl;
}

std::vector<cv1::Event> ReadAll(const std::string& path, int* errors = nullptr) {
  auto reader = EventFileReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  std::vector<cv1::Event> out;
  while (true) {
    cv1::Event e;
    auto more = (*reader)->Next(&e);
    if (!more.ok()) {
      if (errors) ++*errors;
      continue;
    }
    if (!*more) break;
    out.push_back(e);
  }
  return out;
}

TEST(EventFileReaderTest, ReadsRees46) {
  const auto path = WriteTemp(
      "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
      "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde\n"
      "2019-10-01 00:00:05 UTC,cart,3900821,2053013552326770905,appliances.water_heater,aqua,33.20,554748717,9333dfbd\n"
      "2019-10-01 00:01:00 UTC,purchase,3900821,2053013552326770905,appliances.water_heater,aqua,33.20,554748717,9333dfbd\n");
  const auto events = ReadAll(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].name(), "Product Viewed");
  EXPECT_EQ(events[0].user_id(), "rees46-541312140");
  EXPECT_EQ(events[0].timestamp().seconds(), 1569888000);
  EXPECT_DOUBLE_EQ(events[0].price(), 35.79);
  EXPECT_EQ(events[1].name(), "Product Added");
  EXPECT_EQ(events[1].category(), "appliances.water_heater");
  EXPECT_EQ(events[2].name(), "Order Completed");
  EXPECT_EQ(events[2].order_id(), "rees46-9333dfbd");
  EXPECT_NE(events[0].message_id(), events[1].message_id());
  // Replaying the same file gives the same ids (ingest dedupes them).
  EXPECT_EQ(ReadAll(path)[2].message_id(), events[2].message_id());
}

TEST(EventFileReaderTest, ReadsRetailrocket) {
  const auto path = WriteTemp(
      "timestamp,visitorid,event,itemid,transactionid\n"
      "1433221332117,257597,view,355908,\n"
      "1433224214164,992329,addtocart,248676,\n"
      "1433222276276,599528,transaction,356475,4000\n");
  const auto events = ReadAll(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].user_id(), "rr-257597");
  EXPECT_EQ(events[0].timestamp().seconds(), 1433221332);
  EXPECT_EQ(events[1].name(), "Product Added");
  EXPECT_EQ(events[2].order_id(), "rr-4000");
}

TEST(EventFileReaderTest, ReadsJsonLinesAndReportsBadLines) {
  const auto path = WriteTemp(
      "{\"message_id\":\"m1\",\"user_id\":\"u1\",\"name\":\"Product Viewed\",\"channel\":\"CHANNEL_APP\","
      "\"timestamp\":\"2026-11-25T10:00:00Z\",\"unknown_field\":1}\n"
      "\n"
      "{not json}\n"
      "{\"user_id\":\"u1\",\"name\":\"Order Completed\",\"revenue\":12.5}\n");
  int errors = 0;
  const auto events = ReadAll(path, &errors);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(events[0].message_id(), "m1");
  EXPECT_EQ(events[0].channel(), cv1::CHANNEL_APP);
  EXPECT_EQ(events[0].type(), cv1::EVENT_TYPE_TRACK);
  EXPECT_FALSE(events[1].message_id().empty());
  EXPECT_DOUBLE_EQ(events[1].revenue(), 12.5);
}

TEST(EventFileReaderTest, RejectsUnknownFormatsAndBadValues) {
  EXPECT_FALSE(EventFileReader::Open(WriteTemp("a,b,c\n1,2,3\n")).ok());
  EXPECT_FALSE(EventFileReader::Open("/nonexistent/file.csv").ok());
  auto bad = ParseLine(Format::kRees46Csv, "yesterday,view,1,2,,b,1.0,7,s", 5, "p");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 5: event_time"), std::string::npos);
}

}  // namespace
}  // namespace journey::eventfile
