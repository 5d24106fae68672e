#include "services/ingest/currency_codes.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_split.h"

namespace journey::ingest {

bool IsIsoCurrency(absl::string_view code) {
  // ISO 4217 list one (active codes), 2024.
  static const auto* const kCodes = new absl::flat_hash_set<std::string>(absl::StrSplit(
      "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP "
      "BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB "
      "EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
      "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR "
      "MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB "
      "RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD "
      "TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XDR "
      "XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWL",
      ' '));
  return kCodes->contains(code);
}

}  // namespace journey::ingest
