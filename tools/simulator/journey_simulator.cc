#include "tools/simulator/journey_simulator.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace journey::sim {
namespace {

namespace cv1 = journey::common::v1;

struct ProductInfo {
  const char* id;
  const char* category;
  const char* brand;
  double price;
};

// A small shop: coffee gear. Bargain hunters like the cheap end, gift buyers the mid range.
constexpr ProductInfo kProducts[] = {
    {"sku-espresso-100", "espresso-machines", "Brava", 249.0}, {"sku-espresso-200", "espresso-machines", "Brava", 499.0},
    {"sku-espresso-300", "espresso-machines", "Lumo", 899.0},  {"sku-grinder-10", "grinders", "Lumo", 89.0},
    {"sku-grinder-20", "grinders", "Brava", 179.0},            {"sku-grinder-30", "grinders", "Kofi", 329.0},
    {"sku-beans-01", "beans", "Kofi", 14.5},                   {"sku-beans-02", "beans", "Kofi", 16.0},
    {"sku-beans-03", "beans", "Origin", 19.5},                 {"sku-beans-04", "beans", "Origin", 24.0},
    {"sku-kettle-01", "kettles", "Lumo", 59.0},                {"sku-kettle-02", "kettles", "Brava", 99.0},
    {"sku-scale-01", "accessories", "Kofi", 39.0},             {"sku-tamper-01", "accessories", "Brava", 29.0},
    {"sku-cups-01", "accessories", "Origin", 24.0},            {"sku-giftbox-01", "gifts", "Origin", 49.0},
    {"sku-giftbox-02", "gifts", "Kofi", 79.0},                 {"sku-pourover-01", "brewers", "Lumo", 35.0},
    {"sku-pourover-02", "brewers", "Origin", 45.0},            {"sku-frother-01", "accessories", "Lumo", 69.0},
};
constexpr int kProductCount = sizeof(kProducts) / sizeof(kProducts[0]);

struct Behaviour {
  double share;             // of all customers
  double consider;          // P(awareness -> consideration)
  double add_to_cart;       // P(consideration -> decision)
  double checkout;          // P(cart -> checkout started)
  double leave_at_friction; // P(leave | met the shipping surprise)
  double pay;               // P(order | checkout passed)
  double review;            // P(review | delivered)
  double repeat;            // P(second order within weeks)
  double app_share;         // share of sessions in the app (the app's checkout has no surprise)
  cv1::Channel first_touch; // how they typically first arrive
  int price_band;           // 0 cheap, 1 mid, 2 any
};

const Behaviour& BehaviourOf(Persona p) {
  static const Behaviour kBargain{0.30, 0.80, 0.55, 0.90, 0.75, 0.92, 0.25, 0.30, 0.20, cv1::CHANNEL_EMAIL, 0};
  static const Behaviour kLoyal{0.20, 0.95, 0.80, 0.96, 0.35, 0.97, 0.45, 0.80, 0.65, cv1::CHANNEL_APP, 2};
  static const Behaviour kWindow{0.35, 0.85, 0.18, 0.75, 0.70, 0.85, 0.15, 0.05, 0.25, cv1::CHANNEL_ADS, 2};
  static const Behaviour kGift{0.15, 0.85, 0.60, 0.92, 0.55, 0.95, 0.35, 0.10, 0.15, cv1::CHANNEL_SOCIAL, 1};
  switch (p) {
    case Persona::kBargainHunter: return kBargain;
    case Persona::kLoyalRegular: return kLoyal;
    case Persona::kWindowShopper: return kWindow;
    case Persona::kGiftBuyer: return kGift;
  }
  return kWindow;
}

// The furthest stage the events lead to under the default journey definition
// (config/journeys/default.yaml): what a demo expects the journey service to report.
std::string FurthestStage(const std::vector<cv1::Event>& events) {
  static const char* kStages[] = {"AWARENESS", "CONSIDERATION", "DECISION", "PURCHASE", "POST_PURCHASE", "LOYALTY"};
  int furthest = 0, orders = 0;
  for (const auto& e : events) {
    const std::string& n = e.name();
    int stage = 0;
    if (n == "Product Viewed" || n == "Product List Viewed" || n == "Products Searched" ||
        n == "Product Added to Wishlist") {
      stage = 1;
    } else if (n == "Product Added" || n == "Cart Viewed" || n == "Checkout Started" || n == "Checkout Step Viewed" ||
               n == "Checkout Step Completed" || n == "Payment Info Entered") {
      stage = 2;
    } else if (n == "Order Completed") {
      stage = ++orders > 1 ? 5 : 3;
    } else if (n == "Order Delivered" || n == "Product Reviewed") {
      stage = 4;
    } else if (n == "Loyalty Program Joined") {
      stage = 5;
    }
    furthest = std::max(furthest, stage);
  }
  return kStages[furthest];
}

// One customer's journey as events, in time order, stopping at the simulation's end.
class CustomerJourney {
 public:
  CustomerJourney(const SimulatorOptions& o, int index, std::mt19937_64& rng)
      : options_(o), rng_(rng), index_(index) {
    customer_.user_id = absl::StrFormat("cust-%d-%05d", o.seed % 100000, index);
    customer_.anonymous_id = absl::StrFormat("anon-%d-%05d", o.seed % 100000, index);
    customer_.persona = PickPersona();
    behaviour_ = &BehaviourOf(customer_.persona);
    const double span_s = std::max(1, o.days) * 86400.0;
    now_ = o.end - absl::Seconds(Uniform(0.05, 1.0) * span_s);
  }

  std::vector<cv1::Event> Generate() {
    Awareness();
    if (!Chance(behaviour_->consider) || Ended()) return Finish();
    Consideration();
    if (Ended()) return Finish();
    if (customer_.persona == Persona::kLoyalRegular || Chance(0.35)) Login();
    if (!Chance(behaviour_->add_to_cart)) return Finish();
    bool ordered = Decision();
    if (!ordered || Ended()) return Finish();
    PostPurchase();
    if (Chance(behaviour_->repeat) && !Ended()) {
      Later(Uniform(1, 7) * 86400);  // regulars restock beans within the week
      Session(ChannelForSession(), {"Product Viewed"});
      Track("Product Added", session_channel_, 2).set_product_id(cart_product_);
      Track("Checkout Started", session_channel_, 1);
      Order();
      if (Chance(0.5)) Track("Loyalty Program Joined", cv1::CHANNEL_APP, 10);
    }
    return Finish();
  }

  const SimulatedCustomer& customer() const { return customer_; }

 private:
  Persona PickPersona() {
    double r = Uniform(0, 1);
    for (Persona p : {Persona::kBargainHunter, Persona::kLoyalRegular, Persona::kWindowShopper, Persona::kGiftBuyer}) {
      r -= BehaviourOf(p).share;
      if (r <= 0) return p;
    }
    return Persona::kWindowShopper;
  }

  double Uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  int Between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Ended() const { return now_ > options_.end; }
  void Later(double seconds) { now_ += absl::Seconds(seconds); }

  cv1::Channel ChannelForSession() { return Chance(behaviour_->app_share) ? cv1::CHANNEL_APP : cv1::CHANNEL_WEB; }

  cv1::Event& Add(cv1::EventType type, const std::string& name, cv1::Channel channel) {
    cv1::Event& e = events_.emplace_back();
    e.set_message_id(absl::StrFormat("sim-%d-%05d-%03d", options_.seed % 100000, index_, events_.size()));
    e.set_type(type);
    e.set_name(name);
    e.set_channel(channel);
    if (logged_in_) e.set_user_id(customer_.user_id);
    e.set_anonymous_id(customer_.anonymous_id);
    e.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(now_));
    e.mutable_context()->set_library_name("journeyctl-simulate");
    if (channel == cv1::CHANNEL_APP) e.mutable_context()->set_app_name("Coffee Shop");
    return e;
  }

  // Track `name` `minutes` after the previous event.
  cv1::Event& Track(const std::string& name, cv1::Channel channel, double minutes) {
    Later(minutes * 60 * Uniform(0.5, 1.5));
    return Add(cv1::EVENT_TYPE_TRACK, name, channel);
  }

  const ProductInfo& PickProduct() {
    for (int tries = 0; tries < 10; ++tries) {
      const ProductInfo& p = kProducts[Between(0, kProductCount - 1)];
      if (behaviour_->price_band == 0 && p.price > 120) continue;
      if (customer_.persona == Persona::kGiftBuyer && tries < 3 && std::string(p.category) != "gifts" &&
          p.price < 40) {
        continue;
      }
      return p;
    }
    return kProducts[0];
  }

  void ViewProduct(cv1::Channel channel) {
    const ProductInfo& p = PickProduct();
    cv1::Event& e = Track("Product Viewed", channel, Uniform(0.5, 4));
    e.set_product_id(p.id);
    e.set_category(p.category);
    e.set_brand(p.brand);
    e.set_price(p.price);
    e.set_currency("EUR");
    if (cart_product_.empty() || Chance(0.4)) {
      cart_product_ = p.id;
      cart_price_ = p.price;
      cart_category_ = p.category;
    }
  }

  // A new visit some hours or days later, opening with `openers`.
  void Session(cv1::Channel channel, const std::vector<std::string>& openers) {
    Later(Uniform(2, 60) * 3600);
    session_channel_ = channel;
    if (channel == cv1::CHANNEL_APP) Track("Application Opened", channel, 0.1);
    for (const auto& name : openers) {
      if (name == "Product Viewed") ViewProduct(channel);
      else Track(name, channel, 1);
    }
  }

  void Awareness() {
    cv1::Channel first = Chance(0.6) ? behaviour_->first_touch : cv1::CHANNEL_ADS;
    switch (first) {
      case cv1::CHANNEL_EMAIL:
        Track("Email Opened", cv1::CHANNEL_EMAIL, 0);
        if (Chance(0.6)) Track("Email Link Clicked", cv1::CHANNEL_EMAIL, 2);
        break;
      case cv1::CHANNEL_APP:
        Add(cv1::EVENT_TYPE_TRACK, "Application Opened", cv1::CHANNEL_APP);
        break;
      case cv1::CHANNEL_SOCIAL:
        Track("Promotion Clicked", cv1::CHANNEL_SOCIAL, 0).set_promotion_id("promo-gift-guide");
        break;
      default: {
        cv1::Event& ad = Track("Ad Clicked", cv1::CHANNEL_ADS, 0);
        ad.mutable_context()->mutable_campaign()->set_name(Chance(0.5) ? "winter-espresso" : "brand-search");
        ad.mutable_context()->mutable_campaign()->set_source(Chance(0.5) ? "google" : "instagram");
        break;
      }
    }
    session_channel_ = first == cv1::CHANNEL_APP ? cv1::CHANNEL_APP : cv1::CHANNEL_WEB;
    cv1::Event& page = Track("Page Viewed", session_channel_ == cv1::CHANNEL_APP ? cv1::CHANNEL_APP : cv1::CHANNEL_WEB, 1);
    page.set_type(session_channel_ == cv1::CHANNEL_APP ? cv1::EVENT_TYPE_SCREEN : cv1::EVENT_TYPE_PAGE);
    page.set_name(session_channel_ == cv1::CHANNEL_APP ? "Home" : "Home");
    page.mutable_context()->set_page_path("/");
  }

  void Consideration() {
    const int sessions = customer_.persona == Persona::kWindowShopper ? Between(1, 4) : Between(1, 2);
    for (int s = 0; s < sessions && !Ended(); ++s) {
      if (s > 0) {
        // Come back through an email or an ad retargeting some of them.
        if (Chance(0.3)) Track(Chance(0.5) ? "Email Link Clicked" : "Ad Clicked", Chance(0.5) ? cv1::CHANNEL_EMAIL
                                                                                               : cv1::CHANNEL_ADS, 60 * 5);
        Session(ChannelForSession(), {});
      }
      if (Chance(0.5)) Track("Products Searched", session_channel_, 1).set_query(cart_category_.empty() ? "espresso" : cart_category_);
      Track("Product List Viewed", session_channel_, 1).set_list_id("catalog");
      const int views = Between(1, customer_.persona == Persona::kWindowShopper ? 6 : 3);
      for (int v = 0; v < views; ++v) ViewProduct(session_channel_);
      if (customer_.persona == Persona::kWindowShopper && Chance(0.3)) {
        Track("Product Added to Wishlist", session_channel_, 1).set_product_id(cart_product_);
      }
      if (Chance(0.08)) {
        // A question before buying, answered in chat; mostly a good experience.
        Track("Support Ticket Opened", cv1::CHANNEL_SUPPORT, 5);
        cv1::Event& closed = Track("Support Ticket Closed", cv1::CHANNEL_SUPPORT, 90);
        closed.set_sentiment_score(Between(3, 5));
        closed.set_sentiment_scale(cv1::SENTIMENT_SCALE_CSAT_5);
      }
    }
  }

  void Login() {
    if (logged_in_ || Ended()) return;
    logged_in_ = true;
    Later(Uniform(20, 120));
    cv1::Event& e = Add(cv1::EVENT_TYPE_IDENTIFY, "", session_channel_);
    (*e.mutable_traits())["email"].set_string_value(absl::StrCat(customer_.user_id, "@example.com"));
    (*e.mutable_traits())["first_name"].set_string_value(absl::StrCat("Customer ", index_));
    (*e.mutable_traits())["signup_source"].set_string_value(PersonaName(customer_.persona));
  }

  // Cart and checkout; true when the customer ordered.
  bool Decision() {
    if (Chance(0.4)) Session(ChannelForSession(), {"Product Viewed"});
    cv1::Event& added = Track("Product Added", session_channel_, 2);
    added.set_product_id(cart_product_);
    added.set_price(cart_price_);
    added.set_category(cart_category_);
    added.set_quantity(1);
    if (Chance(0.06)) {
      // Second thoughts: empties the cart and goes back to comparing (a back-step).
      cv1::Event& removed = Track("Product Removed", session_channel_, 3);
      removed.set_product_id(cart_product_);
      (*removed.mutable_properties())["cart_value"] = "0";
      if (!Chance(0.5)) return false;
      Session(ChannelForSession(), {"Product Viewed", "Product Viewed"});
      Track("Product Added", session_channel_, 2).set_product_id(cart_product_);
    }
    Login();
    Track("Cart Viewed", session_channel_, 1);
    if (!Chance(behaviour_->checkout) || Ended()) return false;
    Track("Checkout Started", session_channel_, 1).set_checkout_id(absl::StrCat("co-", index_));
    cv1::Event& address = Track("Checkout Step Viewed", session_channel_, 1);
    address.set_step(1);
    (*address.mutable_properties())["step_name"] = "address";
    Track("Checkout Step Completed", session_channel_, 2).set_step(1);

    // The planted friction: on the web, step 2 reveals a shipping cost nobody expected.
    const bool web = session_channel_ == cv1::CHANNEL_WEB;
    const bool surprise = web && Chance(options_.friction_share);
    cv1::Event& shipping = Track("Checkout Step Viewed", session_channel_, 1);
    shipping.set_step(2);
    (*shipping.mutable_properties())["step_name"] = "shipping";
    shipping.set_shipping(surprise ? 14.90 : 0);
    if (surprise) {
      customer_.hit_friction = true;
      // The exit-intent widget on this step: "How was checkout?" (CSAT 1-5).
      if (Chance(0.55)) {
        shipping.set_sentiment_score(Chance(0.7) ? 1 : 2);
        shipping.set_sentiment_scale(cv1::SENTIMENT_SCALE_CSAT_5);
      }
      if (Chance(behaviour_->leave_at_friction)) {
        customer_.left_at_friction = true;
        return false;  // gone: the cart is abandoned at the shipping step
      }
    } else if (Chance(0.08)) {
      shipping.set_sentiment_score(Between(4, 5));
      shipping.set_sentiment_scale(cv1::SENTIMENT_SCALE_CSAT_5);
    }
    Track("Checkout Step Completed", session_channel_, 1).set_step(2);
    Track("Payment Info Entered", session_channel_, 2);
    if (!Chance(behaviour_->pay) || Ended()) return false;
    Order();
    return true;
  }

  void Order() {
    if (Ended()) return;
    ++orders_;
    cv1::Event& order = Track("Order Completed", session_channel_, 1);
    order.set_order_id(absl::StrFormat("order-%d-%05d-%d", options_.seed % 100000, index_, orders_));
    order.set_revenue(cart_price_);
    order.set_currency("EUR");
    order.set_product_id(cart_product_);
    cv1::Product* line = order.add_products();
    line->set_product_id(cart_product_);
    line->set_category(cart_category_);
    line->set_price(cart_price_);
    line->set_quantity(1);
    if (customer_.persona == Persona::kBargainHunter) order.set_coupon("SAVE10");
    if (Chance(0.3)) {
      cv1::Event& survey = Track("Survey Responded", cv1::CHANNEL_EMAIL, 60);
      survey.set_sentiment_score(customer_.hit_friction ? Between(2, 4) : Between(4, 5));
      survey.set_sentiment_scale(cv1::SENTIMENT_SCALE_CSAT_5);
      (*survey.mutable_properties())["survey"] = "post-order";
    }
  }

  void PostPurchase() {
    Later(Uniform(1.5, 4) * 86400);
    if (Ended()) return;
    Add(cv1::EVENT_TYPE_TRACK, "Order Delivered", cv1::CHANNEL_EMAIL);
    if (customer_.persona == Persona::kGiftBuyer && Chance(0.25)) {
      Track("Support Ticket Opened", cv1::CHANNEL_SUPPORT, 60 * 6);
      cv1::Event& closed = Track("Support Ticket Closed", cv1::CHANNEL_SUPPORT, 60 * 20);
      closed.set_sentiment_score(Between(2, 5));
      closed.set_sentiment_scale(cv1::SENTIMENT_SCALE_CSAT_5);
    }
    if (Chance(behaviour_->review)) {
      cv1::Event& review = Track("Product Reviewed", ChannelForSession(), 60 * 24 * Uniform(1, 3));
      review.set_product_id(cart_product_);
      review.set_sentiment_score(Chance(0.8) ? 5 : Between(2, 4));
      review.set_sentiment_scale(cv1::SENTIMENT_SCALE_RATING_5);
    }
    if (Chance(0.35)) {
      cv1::Event& nps = Track("Survey Responded", cv1::CHANNEL_EMAIL, 60 * 24 * 2);
      nps.set_sentiment_score(customer_.persona == Persona::kLoyalRegular ? Between(8, 10) : Between(5, 10));
      nps.set_sentiment_scale(cv1::SENTIMENT_SCALE_NPS_10);
      (*nps.mutable_properties())["survey"] = "nps";
    }
  }

  std::vector<cv1::Event> Finish() {
    // Drop what would happen after the simulation's end: those journeys are still going on.
    const int64_t end_s = absl::ToUnixSeconds(options_.end);
    events_.erase(std::remove_if(events_.begin(), events_.end(),
                                 [&](const cv1::Event& e) { return e.timestamp().seconds() > end_s; }),
                  events_.end());
    customer_.events = static_cast<int>(events_.size());
    customer_.last_product_id = cart_product_;
    customer_.favourite_category = cart_category_;
    customer_.last_stage = FurthestStage(events_);
    customer_.identified = false;
    for (const auto& e : events_) customer_.identified |= e.type() == cv1::EVENT_TYPE_IDENTIFY;
    // The last event that becomes a touchpoint (an Identify only links ids).
    customer_.last_message_id.clear();
    for (const auto& e : events_) {
      if (e.type() != cv1::EVENT_TYPE_IDENTIFY) customer_.last_message_id = e.message_id();
    }
    return std::move(events_);
  }

  const SimulatorOptions& options_;
  std::mt19937_64& rng_;
  int index_;
  const Behaviour* behaviour_ = nullptr;
  SimulatedCustomer customer_;
  absl::Time now_;
  std::vector<cv1::Event> events_;
  bool logged_in_ = false;
  cv1::Channel session_channel_ = cv1::CHANNEL_WEB;
  std::string cart_product_, cart_category_;
  double cart_price_ = 0;
  int orders_ = 0;
};

}  // namespace

const char* PersonaName(Persona p) {
  switch (p) {
    case Persona::kBargainHunter: return "bargain_hunter";
    case Persona::kLoyalRegular: return "loyal_regular";
    case Persona::kWindowShopper: return "window_shopper";
    case Persona::kGiftBuyer: return "gift_buyer";
  }
  return "window_shopper";
}

VisitReaction ReactToRecommendations(const SimulatedCustomer& customer, const std::vector<std::string>& recommended,
                                     std::mt19937_64& rng) {
  auto chance = [&rng](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto find = [](const std::string& id) -> const ProductInfo* {
    for (const ProductInfo& p : kProducts) {
      if (id == p.id) return &p;
    }
    return nullptr;
  };
  VisitReaction r;
  for (const std::string& id : recommended) {
    const ProductInfo* p = find(id);
    if (p == nullptr || id == customer.last_product_id || customer.favourite_category != p->category) continue;
    if (!chance(0.5)) break;  // seen, not tempted
    r.product_id = id;
    r.clicked = true;
    r.bought = chance(0.5);
    r.revenue = r.bought ? p->price : 0;
    return r;
  }
  if (!recommended.empty() && chance(0.04)) {
    r.product_id = recommended.front();
    r.bought = true;
    const ProductInfo* p = find(r.product_id);
    r.revenue = p != nullptr ? p->price : 0;
  }
  return r;
}

absl::Status JourneySimulator::Run(EventSink& sink, SimulationSummary* summary,
                                   const std::function<void(int)>& progress) const {
  std::mt19937_64 rng(options_.seed);
  std::vector<cv1::Event> batch;
  batch.reserve(options_.batch_size + 64);
  for (int i = 0; i < options_.customers; ++i) {
    CustomerJourney journey(options_, i, rng);
    std::vector<cv1::Event> events = journey.Generate();
    const SimulatedCustomer& c = journey.customer();
    if (summary != nullptr) {
      summary->customers += 1;
      summary->events += static_cast<long long>(events.size());
      summary->friction_hits += c.hit_friction;
      summary->friction_losses += c.left_at_friction;
      summary->customers_by_last_stage[c.last_stage] += 1;
      summary->customers_by_persona[PersonaName(c.persona)] += 1;
      summary->customers_list.push_back(c);
    }
    for (auto& e : events) batch.push_back(std::move(e));
    if (static_cast<int>(batch.size()) >= options_.batch_size || i + 1 == options_.customers) {
      if (absl::Status s = sink.Send(batch); !s.ok()) return s;
      batch.clear();
      if (progress) progress(i + 1);
    }
  }
  return absl::OkStatus();
}

}  // namespace journey::sim
