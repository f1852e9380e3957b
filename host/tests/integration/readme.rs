//! README.md and the pages it leads to stay true to the code: every `medblind` command in README's code blocks
//! exists with every option it is shown with, every script named in README exists and is executable, and every
//! relative link of README, CHANGELOG and the Markdown pages under `docs/` and `results/` points at a file or
//! folder of the repository. Links to other sites are not followed: tests run offline.

use crate::medblind;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    fs::read_to_string(repository().join("README.md")).unwrap()
}

/// The commands in `text`'s fenced code blocks: continuation lines joined, comments cut, and lines split at
/// `&&`, `;` and `|`.
fn commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut line = String::new();
    for raw in text.split("```").skip(1).step_by(2).flat_map(str::lines) {
        let code = raw.split(" #").next().unwrap_or("").trim();
        if code.starts_with('#') {
            continue;
        }
        line.push_str(code.trim_end_matches('\\'));
        line.push(' ');
        if !code.ends_with('\\') {
            commands.extend(line.split(['|', ';']).flat_map(|c| c.split("&&")).map(|c| c.trim().to_string()));
            line.clear();
        }
    }
    commands
}

/// `medblind PATH… --help`, which must succeed.
fn help(path: &[&str]) -> String {
    let output = medblind().args(path).arg("--help").output().unwrap();
    assert!(output.status.success(), "`medblind {} --help` failed", path.join(" "));
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands a help text lists under `Commands:`.
fn subcommands(help: &str) -> Vec<&str> {
    help.split("Commands:")
        .nth(1)
        .map(|list| list.lines().skip(1).take_while(|l| !l.trim().is_empty()))
        .into_iter()
        .flatten()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn every_medblind_command_in_the_readme_exists_with_its_options() {
    let readme = readme();
    let mut checked = 0;
    for command in commands(&readme) {
        let words: Vec<&str> = command.split_whitespace().collect();
        if words.first() != Some(&"medblind") {
            continue;
        }
        let mut path = Vec::new();
        let mut text = help(&path);
        for &word in &words[1..] {
            if !subcommands(&text).contains(&word) {
                break;
            }
            path.push(word);
            text = help(&path);
        }
        assert!(!path.is_empty(), "`{command}`: no such medblind command");
        for option in words.iter().filter(|w| w.starts_with("--")) {
            let option = option.split('=').next().unwrap_or(option);
            assert!(
                text.contains(&format!("{option} ")) || text.contains(&format!("{option}\n")),
                "`{command}`: {option} is not an option of `medblind {}`",
                path.join(" ")
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} medblind commands found in README's code blocks");
}

#[test]
fn every_script_the_readme_names_exists_and_is_executable() {
    let readme = readme();
    let mut named: Vec<&str> = readme
        .match_indices("scripts/")
        .chain(readme.match_indices("benches/peers/"))
        .map(|(at, _)| {
            let rest = &readme[at..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || "/_-.".contains(c))).unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .filter(|path| !path.ends_with('/'))
        .collect();
    named.sort_unstable();
    named.dedup();
    assert!(named.contains(&"scripts/demo") && named.contains(&"scripts/test"), "{named:?}");
    for path in named {
        let file = repository().join(path);
        let mode = fs::metadata(&file)
            .map(|m| m.permissions().mode())
            .unwrap_or_else(|_| panic!("{path} is named in README but does not exist"));
        let runnable = path.ends_with(".py") || path.ends_with(".md") || mode & 0o111 != 0;
        assert!(runnable, "{path} is named in README but is not executable");
    }
}

#[test]
fn every_relative_link_leads_to_a_file_of_the_repository() {
    let root = repository();
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut folders = vec![root.join("docs"), root.join("results")];
    while let Some(folder) = folders.pop() {
        for path in fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()) {
            if path.is_dir() { folders.push(path) } else { pages.push(path) }
        }
    }
    let mut links = 0;
    for page in pages.iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
        let text = fs::read_to_string(page).unwrap();
        for (at, _) in text.match_indices("](") {
            let target = &text[at + 2..];
            let target = &target[..target.find(')').unwrap_or(target.len())];
            let target = target.split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let file = page.parent().unwrap().join(target);
            assert!(file.exists(), "{}: the link to {target} leads nowhere", page.display());
            links += 1;
        }
    }
    assert!(links >= 5, "only {links} relative links found");
}
