package dev.layerfs.snapshotter.store;

import dev.layerfs.snapshotter.api.Info;
import dev.layerfs.snapshotter.api.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * containerd's filter syntax ({@code filters} package) over a snapshot's fields, for List: a filter is selectors
 * joined by {@code ,} (all must match), several filters match if any does, none matches everything. A selector is
 * a field path ({@code name}, {@code parent}, {@code kind}, {@code labels.KEY}; a part may be quoted) with
 * {@code ==VALUE}, {@code !=VALUE}, {@code ~=REGEX}, or nothing (the field is present and not empty). A value may
 * be quoted with {@code "} (with backslash escapes) or {@code /}.
 */
final class ListFilter {
    private enum Op {
        PRESENT, EQUALS, NOT_EQUALS, MATCHES
    }

    private record Selector(List<String> path, Op op, String value, Pattern regex) {
        boolean matches(Info info) {
            Optional<String> field = field(info, path);
            return switch (op) {
                case PRESENT -> field.isPresent() && !field.get().isEmpty();
                case EQUALS -> field.isPresent() && field.get().equals(value);
                case NOT_EQUALS -> field.isEmpty() || !field.get().equals(value);
                case MATCHES -> field.isPresent() && regex.matcher(field.get()).find();
            };
        }
    }

    private final List<List<Selector>> alternatives;

    private ListFilter(List<List<Selector>> alternatives) {
        this.alternatives = alternatives;
    }

    static ListFilter parse(List<String> filters) throws SnapshotError {
        List<List<Selector>> alternatives = new ArrayList<>();
        for (String f : filters) {
            if (!f.isBlank()) {
                alternatives.add(new Parser(f).filter());
            }
        }
        return new ListFilter(alternatives);
    }

    boolean matches(Info info) {
        if (alternatives.isEmpty()) {
            return true;
        }
        for (List<Selector> all : alternatives) {
            if (all.stream().allMatch(s -> s.matches(info))) {
                return true;
            }
        }
        return false;
    }

    private static Optional<String> field(Info info, List<String> path) {
        String head = path.get(0);
        if (path.size() == 1) {
            return switch (head) {
                case "name" -> Optional.of(info.getName());
                case "parent" -> Optional.of(info.getParent());
                case "kind" -> Optional.of(kindName(info.getKind()));
                default -> Optional.empty();
            };
        }
        if (head.equals("labels")) {
            Map<String, String> labels = info.getLabelsMap();
            return Optional.ofNullable(labels.get(String.join(".", path.subList(1, path.size()))));
        }
        return Optional.empty();
    }

    /** The words containerd's filters use for a kind ({@code snapshots.Kind.String}, lower case). */
    static String kindName(Kind kind) {
        return switch (kind) {
            case VIEW -> "view";
            case ACTIVE -> "active";
            case COMMITTED -> "committed";
            default -> "unknown";
        };
    }

    /** A hand-written scanner: the grammar is a handful of tokens. */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        List<Selector> filter() throws SnapshotError {
            List<Selector> all = new ArrayList<>();
            all.add(selector());
            while (i < s.length()) {
                expect(',');
                all.add(selector());
            }
            return all;
        }

        private Selector selector() throws SnapshotError {
            skipSpaces();
            List<String> path = new ArrayList<>();
            path.add(fieldPart());
            while (i < s.length() && s.charAt(i) == '.') {
                i++;
                path.add(fieldPart());
            }
            skipSpaces();
            if (i >= s.length() || s.charAt(i) == ',') {
                return new Selector(path, Op.PRESENT, null, null);
            }
            Op op;
            if (s.startsWith("==", i)) {
                op = Op.EQUALS;
            } else if (s.startsWith("!=", i)) {
                op = Op.NOT_EQUALS;
            } else if (s.startsWith("~=", i)) {
                op = Op.MATCHES;
            } else {
                throw error("expected ==, != or ~=");
            }
            i += 2;
            skipSpaces();
            String value = value();
            skipSpaces();
            Pattern regex = null;
            if (op == Op.MATCHES) {
                try {
                    regex = Pattern.compile(value);
                } catch (PatternSyntaxException e) {
                    throw error("bad regular expression " + value);
                }
            }
            return new Selector(path, op, value, regex);
        }

        private String fieldPart() throws SnapshotError {
            if (i < s.length() && (s.charAt(i) == '"' || s.charAt(i) == '/')) {
                return quoted();
            }
            int start = i;
            while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || "_-/".indexOf(s.charAt(i)) >= 0)) {
                i++;
            }
            if (start == i) {
                throw error("expected a field name");
            }
            return s.substring(start, i);
        }

        private String value() throws SnapshotError {
            if (i < s.length() && (s.charAt(i) == '"' || s.charAt(i) == '/')) {
                return quoted();
            }
            int start = i;
            while (i < s.length() && s.charAt(i) != ',' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (start == i) {
                throw error("expected a value");
            }
            return s.substring(start, i);
        }

        private String quoted() throws SnapshotError {
            char quote = s.charAt(i++);
            StringBuilder out = new StringBuilder();
            while (i < s.length() && s.charAt(i) != quote) {
                char c = s.charAt(i++);
                if (c == '\\' && i < s.length()) {
                    char next = s.charAt(i++);
                    out.append(switch (next) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        default -> next;
                    });
                } else {
                    out.append(c);
                }
            }
            if (i >= s.length()) {
                throw error("unterminated quote");
            }
            i++;
            return out.toString();
        }

        private void expect(char c) throws SnapshotError {
            skipSpaces();
            if (i >= s.length() || s.charAt(i) != c) {
                throw error("expected '" + c + "'");
            }
            i++;
        }

        private void skipSpaces() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private SnapshotError error(String what) {
            return SnapshotError.invalidArgument(String.format(Locale.ROOT, "filter %s: %s at offset %d",
                    s, what, i));
        }
    }
}
