import Foundation

/// Month and weekday names of the 24 official EU languages (and the forms established feed
/// parsers accept), for the date scanners. Names are stored as written and folded at load time
/// (lowercase, diacritics removed: `fold`), so `Birželio`, `birzelio` and `BIRŽELIO` match, as do
/// `Ιούλ` and `ιουλ`. Each month lists nominative and genitive (or partitive, locative) forms,
/// then abbreviations; a trailing dot after an abbreviation is punctuation to the scanners.
package enum DateNames {
  /// Languages in the order ambiguous words are resolved when no locale says otherwise
  /// (`listopad` is November in Czech and Polish, October in Croatian).
  package static let languages = [
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "lt", "lv", "et", "fi",
    "sv", "da", "hu", "ro", "bg", "el", "ga", "mt",
  ]

  /// language → 12 months, each a `|`-separated list of names.
  static let monthTable: [String: [String]] = [
    "en": [
      "january|jan", "february|feb", "march|mar", "april|apr", "may", "june|jun", "july|jul",
      "august|aug", "september|sep|sept", "october|oct", "november|nov", "december|dec",
    ],
    "de": [
      "januar|jänner|jan|jän", "februar|feber|feb", "märz|mär|mrz", "april|apr", "mai",
      "juni|jun", "juli|jul", "august|aug", "september|sep|sept", "oktober|okt", "november|nov",
      "dezember|dez",
    ],
    "fr": [
      "janvier|janv", "février|févr|fév", "mars", "avril|avr", "mai", "juin", "juillet|juil",
      "août", "septembre|sept", "octobre|oct", "novembre|nov", "décembre|déc",
    ],
    "es": [
      "enero|ene", "febrero|feb", "marzo|mar", "abril|abr", "mayo|may", "junio|jun", "julio|jul",
      "agosto|ago", "septiembre|setiembre|sep|sept|set", "octubre|oct", "noviembre|nov",
      "diciembre|dic",
    ],
    "it": [
      "gennaio|gen", "febbraio|feb", "marzo|mar", "aprile|apr", "maggio|mag", "giugno|giu",
      "luglio|lug", "agosto|ago", "settembre|set", "ottobre|ott", "novembre|nov", "dicembre|dic",
    ],
    "pt": [
      "janeiro|jan", "fevereiro|fev", "março|mar", "abril|abr", "maio|mai", "junho|jun",
      "julho|jul", "agosto|ago", "setembro|set", "outubro|out", "novembro|nov", "dezembro|dez",
    ],
    "nl": [
      "januari|jan", "februari|feb", "maart|mrt|maa", "april|apr", "mei", "juni|jun", "juli|jul",
      "augustus|aug", "september|sep|sept", "oktober|okt", "november|nov", "december|dec",
    ],
    "pl": [
      "styczeń|stycznia|sty", "luty|lutego|lut", "marzec|marca|mar", "kwiecień|kwietnia|kwi",
      "maj|maja", "czerwiec|czerwca|cze", "lipiec|lipca|lip", "sierpień|sierpnia|sie",
      "wrzesień|września|wrz", "październik|października|paź", "listopad|listopada|lis",
      "grudzień|grudnia|gru",
    ],
    "cs": [
      "leden|ledna|led", "únor|února|úno", "březen|března|bře", "duben|dubna|dub",
      "květen|května|kvě", "červen|června|čvn", "červenec|července|čvc", "srpen|srpna|srp",
      "září|zář", "říjen|října|říj", "listopad|listopadu|lis", "prosinec|prosince|pro",
    ],
    "sk": [
      "január|januára|jan", "február|februára|feb", "marec|marca|mar", "apríl|apríla|apr",
      "máj|mája", "jún|júna", "júl|júla", "august|augusta|aug", "september|septembra|sep",
      "október|októbra|okt", "november|novembra|nov", "december|decembra|dec",
    ],
    "sl": [
      "januar|jan", "februar|feb", "marec|mar", "april|apr", "maj", "junij|jun", "julij|jul",
      "avgust|avg", "september|sep", "oktober|okt", "november|nov", "december|dec",
    ],
    "hr": [
      "siječanj|siječnja|sij", "veljača|veljače|velj|vel", "ožujak|ožujka|ožu",
      "travanj|travnja|tra", "svibanj|svibnja|svi", "lipanj|lipnja|lip", "srpanj|srpnja|srp",
      "kolovoz|kolovoza|kol", "rujan|rujna|ruj", "listopad|listopada|lis",
      "studeni|studenoga|studenog|stu", "prosinac|prosinca|pro",
    ],
    "lt": [
      "sausio|sausis|saus", "vasario|vasaris|vas", "kovo|kovas|kov", "balandžio|balandis|bal|balan",
      "gegužės|gegužė|geg", "birželio|birželis|birž|bir", "liepos|liepa|liep|lie",
      "rugpjūčio|rugpjūtis|rugp|rgp", "rugsėjo|rugsėjis|rugs|rgs", "spalio|spalis|spal|spa",
      "lapkričio|lapkritis|lapkr|lap", "gruodžio|gruodis|gruod|gru",
    ],
    "lv": [
      "janvāris|janvārī|janvāra|janv", "februāris|februārī|februāra|febr",
      "marts|martā|marta", "aprīlis|aprīlī|aprīļa|apr", "maijs|maijā|maija",
      "jūnijs|jūnijā|jūnija|jūn", "jūlijs|jūlijā|jūlija|jūl", "augusts|augustā|augusta|aug",
      "septembris|septembrī|septembra|sept", "oktobris|oktobrī|oktobra|okt",
      "novembris|novembrī|novembra|nov", "decembris|decembrī|decembra|dec",
    ],
    "et": [
      "jaanuar|jaan", "veebruar|veebr", "märts", "aprill|apr", "mai", "juuni", "juuli",
      "august|aug", "september|sept", "oktoober|okt", "november|nov", "detsember|dets",
    ],
    "fi": [
      "tammikuu|tammikuuta|tammi", "helmikuu|helmikuuta|helmi", "maaliskuu|maaliskuuta|maalis",
      "huhtikuu|huhtikuuta|huhti", "toukokuu|toukokuuta|touko", "kesäkuu|kesäkuuta|kesä",
      "heinäkuu|heinäkuuta|heinä", "elokuu|elokuuta|elo", "syyskuu|syyskuuta|syys",
      "lokakuu|lokakuuta|loka", "marraskuu|marraskuuta|marras", "joulukuu|joulukuuta|joulu",
    ],
    "sv": [
      "januari|jan", "februari|feb", "mars|mar", "april|apr", "maj", "juni|jun", "juli|jul",
      "augusti|aug", "september|sep|sept", "oktober|okt", "november|nov", "december|dec",
    ],
    "da": [
      "januar|jan", "februar|feb", "marts|mar", "april|apr", "maj", "juni|jun", "juli|jul",
      "august|aug", "september|sep|sept", "oktober|okt", "november|nov", "december|dec",
    ],
    "hu": [
      "január|jan", "február|febr|feb", "március|márc|már", "április|ápr", "május|máj",
      "június|jún", "július|júl", "augusztus|aug", "szeptember|szept|szep", "október|okt",
      "november|nov", "december|dec",
    ],
    "ro": [
      "ianuarie|ian", "februarie|feb", "martie|mar", "aprilie|apr", "mai", "iunie|iun",
      "iulie|iul", "august|aug", "septembrie|sep|sept", "octombrie|oct", "noiembrie|noi|nov",
      "decembrie|dec",
    ],
    "bg": [
      "януари|яну", "февруари|фев", "март|мар", "април|апр", "май", "юни", "юли",
      "август|авг", "септември|сеп", "октомври|окт", "ноември|ное", "декември|дек",
    ],
    "el": [
      "ιανουάριος|ιανουαρίου|ιαν", "φεβρουάριος|φεβρουαρίου|φεβ", "μάρτιος|μαρτίου|μάρ|μάώ",
      "απρίλιος|απριλίου|απρ", "μάιος|μαΐου|μάι|μαΐ|μαϊ", "ιούνιος|ιουνίου|ιούν|ιον",
      "ιούλιος|ιουλίου|ιούλ|ιολ", "αύγουστος|αυγούστου|αύγ", "σεπτέμβριος|σεπτεμβρίου|σεπ",
      "οκτώβριος|οκτωβρίου|οκτ", "νοέμβριος|νοεμβρίου|νοέ", "δεκέμβριος|δεκεμβρίου|δεκ",
    ],
    "ga": [
      "eanáir|ean", "feabhra|feabh", "márta|már", "aibreán|aib", "bealtaine|beal",
      "meitheamh|meith", "iúil", "lúnasa|lún", "meán fómhair|mfómh", "deireadh fómhair|dfómh",
      "samhain|samhna|samh", "nollaig|nollag|noll",
    ],
    "mt": [
      "jannar|jan", "frar|fra", "marzu|mar", "april|apr", "mejju|mej", "ġunju|ġun",
      "lulju|lul", "awwissu|aww", "settembru|set", "ottubru|ott", "novembru|nov",
      "diċembru|diċ",
    ],
  ]

  /// language → 7 weekdays (Monday first). Weekdays are recognised and skipped. Two-letter
  /// abbreviations that are zone names (`ET`, `CT`, `MT`, `PT`, `AT`) are left out.
  static let weekdayTable: [String: [String]] = [
    "en": [
      "monday|mon", "tuesday|tue|tues", "wednesday|wed", "thursday|thu|thur|thurs",
      "friday|fri", "saturday|sat", "sunday|sun",
    ],
    "de": [
      "montag|mo|mon", "dienstag|di|die", "mittwoch|mi|mit", "donnerstag|do|don",
      "freitag|fr|fre", "samstag|sonnabend|sa|sam", "sonntag|so|son",
    ],
    "fr": [
      "lundi|lun", "mardi|mar", "mercredi|mer", "jeudi|jeu", "vendredi|ven", "samedi|sam",
      "dimanche|dim",
    ],
    "es": [
      "lunes|lun", "martes|mar", "miércoles|mié", "jueves|jue", "viernes|vie", "sábado|sáb",
      "domingo|dom",
    ],
    "it": [
      "lunedì|lun", "martedì|mar", "mercoledì|mer", "giovedì|gio", "venerdì|ven",
      "sabato|sab", "domenica|dom",
    ],
    "pt": [
      "segunda|seg", "terça|ter", "quarta|qua", "quinta|qui", "sexta|sex", "sábado|sáb",
      "domingo|dom",
    ],
    "nl": [
      "maandag|ma", "dinsdag|di", "woensdag|wo", "donderdag|do", "vrijdag|vr",
      "zaterdag|za", "zondag|zo",
    ],
    "pl": [
      "poniedziałek|pon", "wtorek|wt|wto", "środa|śr|śro", "czwartek|czw", "piątek|pią",
      "sobota|sob", "niedziela|niedz|nie|nd",
    ],
    "cs": [
      "pondělí|po", "úterý|út", "středa|st", "čtvrtek|čt", "pátek|pá", "sobota|so",
      "neděle|ne",
    ],
    "sk": [
      "pondelok|po", "utorok|ut", "streda|st", "štvrtok|št", "piatok|pi", "sobota|so",
      "nedeľa|ne",
    ],
    "sl": [
      "ponedeljek|pon", "torek|tor", "sreda|sre", "četrtek|čet", "petek|pet", "sobota|sob",
      "nedelja|ned",
    ],
    "hr": [
      "ponedjeljak|pon", "utorak|uto", "srijeda|sri", "četvrtak|čet", "petak|pet",
      "subota|sub", "nedjelja|ned",
    ],
    "lt": [
      "pirmadienis|pirm|pr", "antradienis|antr|an", "trečiadienis|treč|tr",
      "ketvirtadienis|ketv|kt", "penktadienis|penkt|pn", "šeštadienis|šešt|št",
      "sekmadienis|sekm|sk",
    ],
    "lv": [
      "pirmdiena|pirmd", "otrdiena|otrd", "trešdiena|trešd", "ceturtdiena|ceturtd",
      "piektdiena|piektd", "sestdiena|sestd", "svētdiena|svētd",
    ],
    "et": ["esmaspäev", "teisipäev", "kolmapäev", "neljapäev", "reede", "laupäev", "pühapäev"],
    "fi": [
      "maanantai|ma", "tiistai|ti", "keskiviikko|ke", "torstai|to", "perjantai|pe",
      "lauantai|la", "sunnuntai|su",
    ],
    "sv": [
      "måndag|mån", "tisdag|tis", "onsdag|ons", "torsdag|tor|tors", "fredag|fre",
      "lördag|lör", "söndag|sön",
    ],
    "da": [
      "mandag|man", "tirsdag|tir", "onsdag|ons", "torsdag|tor", "fredag|fre", "lørdag|lør",
      "søndag|søn",
    ],
    "hu": [
      "hétfő|hét", "kedd", "szerda|sze", "csütörtök|csü|cs", "péntek|pén", "szombat|szo",
      "vasárnap|vas",
    ],
    "ro": [
      "luni|lun", "marți|marti|mar", "miercuri|mie", "joi", "vineri|vin", "sâmbătă|sâm",
      "duminică|dum",
    ],
    "bg": [
      "понеделник|пон|пн", "вторник|вт", "сряда|ср", "четвъртък|чет|чт", "петък|пет|пт",
      "събота|съб|сб", "неделя|нед|нд",
    ],
    "el": [
      "δευτέρα|δευ", "τρίτη|τρι", "τετάρτη|τετ", "πέμπτη|πεμ", "παρασκευή|παρ",
      "σάββατο|σαβ", "κυριακή|κυρ",
    ],
    "ga": [
      "luain|luan", "máirt", "céadaoin", "déardaoin", "aoine|haoine", "sathairn|satharn",
      "domhnaigh|domhnach",
    ],
    "mt": [
      "tnejn|tne", "tlieta|tli", "erbgħa|erb", "ħamis|ħam", "ġimgħa|ġim", "sibt|sib",
      "ħadd|ħad",
    ],
  ]

  /// Words that stand between the parts of a written date and mean nothing for it: `2 de junio
  /// de 2020`, `den 2 juni`, `2020 m.`, `2020. gada`, `2020 r.`, `um 10:00`, `Dé Luain`.
  static let fillers: Set<String> = Set(
    [
      "de", "del", "di", "le", "den", "the", "of", "d", "m", "g", "gada", "r", "mi", "mí", "na",
      "um", "a", "à", "às", "alle", "ore", "klo", "kl", "v", "u", "ob", "o", "om", "op", "el",
      "em", "godz", "hod", "г", "год", "feira", "dé", "it", "il", "is", "l", "ta", "on",
      "daté",
    ].map { fold($0) })

  package struct Entry {
    package var months: [String: Int] = [:]
    package var weekdays: Set<String> = []
  }

  /// Folded name → month, per language.
  package static let byLanguage: [String: Entry] = {
    var out: [String: Entry] = [:]
    for lang in languages {
      var e = Entry()
      for (index, names) in (monthTable[lang] ?? []).enumerated() {
        for name in names.split(separator: "|") {
          let key = fold(String(name)).replacingOccurrences(of: " ", with: "")
          if e.months[key] == nil { e.months[key] = index + 1 }
        }
      }
      for names in weekdayTable[lang] ?? [] {
        for name in names.split(separator: "|") { e.weekdays.insert(fold(String(name))) }
      }
      out[lang] = e
    }
    return out
  }()

  /// Folded name → month over all languages (the first language in `languages` wins).
  static let anyMonth: [String: Int] = {
    var out: [String: Int] = [:]
    for lang in languages {
      for (k, v) in byLanguage[lang]?.months ?? [:] where out[k] == nil { out[k] = v }
    }
    return out
  }()

  static let anyWeekday: Set<String> = {
    var out = Set<String>()
    for lang in languages { out.formUnion(byLanguage[lang]?.weekdays ?? []) }
    return out
  }()

  /// Month of a folded word: `language`'s names first, then English, then any language.
  static func month(_ word: String, language: String? = nil) -> Int? {
    if let language, let m = byLanguage[language]?.months[word] { return m }
    if let m = byLanguage["en"]?.months[word] { return m }
    return anyMonth[word]
  }

  static func isWeekday(_ word: String, language: String? = nil) -> Bool {
    if let language, byLanguage[language]?.weekdays.contains(word) == true { return true }
    return anyWeekday.contains(word)
  }

  /// Lowercase without diacritics (NFD, combining marks dropped) and with the letters that do
  /// not decompose mapped by hand (`ł`, `đ`, `ø`, `ß`, `ħ`, `ı`, final `ς`). Spaces and
  /// dashes of other kinds become ASCII ones.
  package static func fold(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      let v = scalar.value
      if v < 0x80 {
        out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : scalar)
        continue
      }
      switch v {
      case 0xA0, 0x2009, 0x202F: out.append(" ")  // no-break and thin spaces
      case 0x2013, 0x2014: out.append("-")  // dashes between numbers
      case 0x0141, 0x0142: out.append("l")
      case 0x0110, 0x0111: out.append("d")
      case 0x00D8, 0x00F8: out.append("o")
      case 0x00DF: out.append(contentsOf: "ss".unicodeScalars)
      case 0x0126, 0x0127: out.append("h")
      case 0x0131: out.append("i")
      case 0x03C2: out.append("σ")
      default:
        let lower = String(scalar).lowercased()
        for s in lower.decomposedStringWithCanonicalMapping.unicodeScalars
        where !(0x0300...0x036F).contains(s.value) {
          out.append(s)
        }
      }
    }
    return String(out)
  }
}
