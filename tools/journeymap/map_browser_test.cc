// Looks at the journey map the way a person does: headless Chromium opens the rendered file
// (no network), the page must run its script without errors or policy violations, show
// the six stage columns and the expected figures in the DOM, and produce a screenshot.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/journeymap/map_html.h"
#include "tools/journeymap/testing/sample_map.h"

namespace journey::map {
namespace {

std::string FindChromium() {
  if (const char* env = std::getenv("JOURNEY_CHROMIUM"); env != nullptr && *env != '\0') return env;
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MapBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    if (chromium_.empty()) {
      GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs Debian's chromium package); "
                      "the journey map was not checked in a browser";
    }
    char tmpl[] = "/tmp/journey-map-browser-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto map = testing::SampleJourneyMap();
    *map.mutable_previous() = testing::SamplePreviousMap();
    std::ofstream(dir_ + "/map.html") << RenderJourneyMapHtml(map, nullptr, RenderOptions{});
  }

  void TearDown() override {
    if (!dir_.empty()) (void)std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  // Runs Chromium on the map with a fresh profile; returns its exit code.
  int RunChromium(const std::string& args, const std::string& stdout_path) {
    const std::string cmd = absl::StrCat(
        "timeout 90 '", chromium_, "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
        "--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage "
        "--user-data-dir='", dir_, "/profile-", ++runs_, "' ", args, " 'file://", dir_, "/map.html' >'", stdout_path,
        "' 2>>'", dir_, "/chromium.log'");
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  std::string chromium_, dir_;
  int runs_ = 0;
};

TEST_F(MapBrowserTest, RendersWithoutScriptErrorsAndShowsTheFigures) {
  ASSERT_EQ(RunChromium("--dump-dom", dir_ + "/dom.html"), 0) << ReadFile(dir_ + "/chromium.log");
  const std::string dom = ReadFile(dir_ + "/dom.html");
  ASSERT_FALSE(dom.empty()) << ReadFile(dir_ + "/chromium.log");
  // The page's own script ran to its end and counted no errors and no blocked fetches.
  EXPECT_TRUE(absl::StrContains(dom, "data-rendered=\"1\"")) << dom.substr(0, 400);
  EXPECT_TRUE(absl::StrContains(dom, "data-script-errors=\"0\"")) << dom.substr(0, 400);
  EXPECT_TRUE(absl::StrContains(dom, "data-csp-violations=\"0\"")) << dom.substr(0, 400);
  EXPECT_TRUE(absl::StrContains(dom, "id=\"csv-download\" download=\"journey-map.csv\" href=\"data:text/csv"));
  // Six stage columns in the flow diagram, in order.
  size_t at = dom.find("id=\"flow-svg\"");
  ASSERT_NE(at, std::string::npos);
  for (const char* stage : {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"}) {
    const size_t next = dom.find(absl::StrCat("class=\"stage-node\" data-stage=\"", stage, "\""), at);
    EXPECT_NE(next, std::string::npos) << stage;
    if (next != std::string::npos) at = next;
  }
  // The figures of the sample map (tools/journeymap/testing/sample_map.cc).
  EXPECT_TRUE(absl::StrContains(dom, "410 customers · step 64.1% · overall 41.0%"));
  EXPECT_TRUE(absl::StrContains(dom, "DECISION / Checkout Step Viewed (web)</b>, 212 customers lost"));
  EXPECT_TRUE(absl::StrContains(dom, "0.21 (n=64)"));
  EXPECT_TRUE(absl::StrContains(dom, "back 57"));
  EXPECT_TRUE(absl::StrContains(dom, "2025-11-20 00:00 UTC to 2025-11-27 00:00 UTC"));
}

TEST_F(MapBrowserTest, TakesAScreenshot) {
  const std::string png = dir_ + "/map.png";
  ASSERT_EQ(RunChromium(absl::StrCat("--hide-scrollbars --window-size=1280,2600 --screenshot='", png, "'"),
                        dir_ + "/screenshot.out"),
            0)
      << ReadFile(dir_ + "/chromium.log");
  const std::string image = ReadFile(png);
  ASSERT_GT(image.size(), 30000u) << "a blank page compresses to a few KB";
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // Keep it where a person can look at it after the run.
  mkdir(JOURNEY_MAP_SCREENSHOT_DIR, 0755);
  std::ofstream(std::string(JOURNEY_MAP_SCREENSHOT_DIR) + "/journey-map.png", std::ios::binary) << image;
}

}  // namespace
}  // namespace journey::map
