#include "convert.h"

#include "keys.h"

namespace omniroute::directory::internal {
namespace {

// Sets an `optional sint64 <name>_ns` field from a time.
#define OMNIROUTE_SET_TIME(msg, name, t)     \
  do {                                       \
    const StoredTime stored = EncodeTime(t); \
    if (stored.has) {                        \
      (msg).set_##name##_ns(stored.ns);      \
    } else {                                 \
      (msg).clear_##name##_ns();             \
    }                                        \
  } while (0)
#define OMNIROUTE_GET_TIME(msg, name) DecodeTime((msg).has_##name##_ns(), (msg).name##_ns())

}  // namespace

Handle HandleFromValue(const HandleValue& value) { return Handle{value.kind(), value.value()}; }

Customer CustomerFromRecord(const CustomerRecord& r) {
  Customer c;
  c.id = r.id();
  c.display_name = r.display_name();
  c.vip_level = r.vip_level();
  c.tags.assign(r.tags().begin(), r.tags().end());
  c.language = r.language();
  c.handles.reserve(r.handles_size());
  for (const HandleValue& h : r.handles()) c.handles.push_back(HandleFromValue(h));
  c.favourite_engineers.assign(r.favourite_engineers().begin(), r.favourite_engineers().end());
  c.last_engineer = r.last_engineer();
  c.last_engineer_at = OMNIROUTE_GET_TIME(r, last_engineer_at);
  c.last_channel = r.last_channel();
  c.interactions = r.interactions();
  c.merged_from.assign(r.merged_from().begin(), r.merged_from().end());
  c.created_at = OMNIROUTE_GET_TIME(r, created_at);
  c.updated_at = OMNIROUTE_GET_TIME(r, updated_at);
  return c;
}

CustomerRecord CustomerToRecord(const Customer& c) {
  CustomerRecord r;
  r.set_id(c.id);
  r.set_display_name(c.display_name);
  r.set_vip_level(c.vip_level);
  for (const std::string& t : c.tags) r.add_tags(t);
  r.set_language(c.language);
  for (const Handle& h : c.handles) {
    HandleValue* v = r.add_handles();
    v->set_kind(h.kind);
    v->set_value(h.value);
  }
  for (const std::string& e : c.favourite_engineers) r.add_favourite_engineers(e);
  r.set_last_engineer(c.last_engineer);
  OMNIROUTE_SET_TIME(r, last_engineer_at, c.last_engineer_at);
  r.set_last_channel(c.last_channel);
  r.set_interactions(c.interactions);
  for (const std::string& m : c.merged_from) r.add_merged_from(m);
  OMNIROUTE_SET_TIME(r, created_at, c.created_at);
  OMNIROUTE_SET_TIME(r, updated_at, c.updated_at);
  return r;
}

Interaction InteractionFromRecord(const InteractionRecord& r) {
  Interaction in;
  in.session = r.session();
  in.customer = r.customer();
  in.channel = r.channel();
  in.queue = r.queue();
  in.engineer = r.engineer();
  in.intent = r.intent();
  in.created_at = OMNIROUTE_GET_TIME(r, created_at);
  in.answered_at = OMNIROUTE_GET_TIME(r, answered_at);
  in.ended_at = OMNIROUTE_GET_TIME(r, ended_at);
  in.outcome = static_cast<Outcome>(r.outcome());
  in.handle_time = absl::Nanoseconds(r.handle_time_ns());
  if (r.has_rating()) {
    const RatingRecord& rr = r.rating();
    Rating rating;
    rating.stars = rr.stars();
    rating.tags.assign(rr.tags().begin(), rr.tags().end());
    rating.favourite = rr.favourite();
    rating.tip_cents = rr.tip_cents();
    rating.at = OMNIROUTE_GET_TIME(rr, at);
    in.rating = std::move(rating);
  }
  return in;
}

InteractionRecord InteractionToRecord(const Interaction& in) {
  InteractionRecord r;
  r.set_session(in.session);
  r.set_customer(in.customer);
  r.set_channel(in.channel);
  r.set_queue(in.queue);
  r.set_engineer(in.engineer);
  r.set_intent(in.intent);
  OMNIROUTE_SET_TIME(r, created_at, in.created_at);
  OMNIROUTE_SET_TIME(r, answered_at, in.answered_at);
  OMNIROUTE_SET_TIME(r, ended_at, in.ended_at);
  r.set_outcome(static_cast<int32_t>(in.outcome));
  r.set_handle_time_ns(absl::ToInt64Nanoseconds(in.handle_time));
  if (in.rating.has_value()) {
    RatingRecord* rr = r.mutable_rating();
    rr->set_stars(in.rating->stars);
    for (const std::string& t : in.rating->tags) rr->add_tags(t);
    rr->set_favourite(in.rating->favourite);
    rr->set_tip_cents(in.rating->tip_cents);
    OMNIROUTE_SET_TIME(*rr, at, in.rating->at);
  }
  return r;
}

EngineerRecord EngineerFromRecord(const EngineerRecordValue& r) {
  EngineerRecord e;
  e.id = r.id();
  e.handled = r.handled();
  e.handle_time_total = absl::Nanoseconds(r.handle_time_total_ns());
  e.ratings = r.ratings();
  e.stars_total = r.stars_total();
  e.good_ratings = r.good_ratings();
  e.favourites = r.favourites();
  e.tips = r.tips();
  e.tip_cents_total = r.tip_cents_total();
  e.tag_counts.reserve(r.tag_counts_size());
  for (const TagCount& t : r.tag_counts()) e.tag_counts.emplace_back(t.tag(), t.count());
  return e;
}

EngineerRecordValue EngineerToRecord(const EngineerRecord& e) {
  EngineerRecordValue r;
  r.set_id(e.id);
  r.set_handled(e.handled);
  r.set_handle_time_total_ns(absl::ToInt64Nanoseconds(e.handle_time_total));
  r.set_ratings(e.ratings);
  r.set_stars_total(e.stars_total);
  r.set_good_ratings(e.good_ratings);
  r.set_favourites(e.favourites);
  r.set_tips(e.tips);
  r.set_tip_cents_total(e.tip_cents_total);
  for (const auto& [tag, count] : e.tag_counts) {
    TagCount* t = r.add_tag_counts();
    t->set_tag(tag);
    t->set_count(count);
  }
  return r;
}

#undef OMNIROUTE_SET_TIME
#undef OMNIROUTE_GET_TIME

}  // namespace omniroute::directory::internal
