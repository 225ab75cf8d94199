; Inno Setup 6 script: a per-user traycap install on Windows (no administrator rights).
;
; Build on Windows, from the repository root:
;   py -m pip install -e .[installer]
;   pyinstaller --noconfirm installer\traycap.spec          -> dist\traycap\traycap.exe + traycapw.exe
;   iscc installer\windows\traycap.iss                      -> dist\installer\traycap-setup-<version>.exe
;
; What goes where:
;   program    %LOCALAPPDATA%\Programs\traycap\             replaced on upgrade
;   start-up   %APPDATA%\Microsoft\Windows\Start Menu\Programs\Startup\traycap.lnk  (task "startup")
;   data       %LOCALAPPDATA%\traycap\   sessions + upload-config.json: never written or removed here
; `traycap autostart on|off|status` knows the Start-up shortcut too (see traycap/autostart/windows.py);
; uninstalling runs `traycap autostart off`, which removes it and the Run-key entry.

#define AppName "traycap"
#define AppExe "traycapw.exe"
#define CliExe "traycap.exe"
; The version is traycap's one version (traycap/__init__.py), which traycap.spec writes into the
; executables' version resource: read back from the executable this installer ships.
#define AppVersion GetStringFileInfo(AddBackslash(SourcePath) + "..\..\dist\traycap\" + CliExe, "ProductVersion")

[Setup]
AppId={{8C4F1D2E-5B7A-4E39-9C61-2F0D3A7B9E15}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=traycap
DefaultDirName={localappdata}\Programs\traycap
PrivilegesRequired=lowest
DisableProgramGroupPage=yes
DisableDirPage=auto
OutputDir=..\..\dist\installer
OutputBaseFilename=traycap-setup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
; An upgrade closes the running tray app (Restart Manager) and starts it again afterwards.
CloseApplications=yes
RestartApplications=yes
; Made from assets/traycap-master.png by scripts/make_icons.py, like every icon traycap ships.
SetupIconFile=..\..\assets\traycap.ico

[Tasks]
Name: "startup"; Description: "Start traycap when I sign in"; GroupDescription: "Autostart:"

[InstallDelete]
; The PyInstaller folder is replaced whole, so no file of an older version lingers.
Type: filesandordirs; Name: "{app}\_internal"
; Unticking the task on an upgrade removes the shortcut an earlier install made.
Type: files; Name: "{userstartup}\traycap.lnk"; Tasks: not startup

[Files]
Source: "..\..\dist\traycap\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{userprograms}\traycap"; Filename: "{app}\{#AppExe}"; Parameters: "tray"; Comment: "Record desktop sessions and upload them to S3"
Name: "{userstartup}\traycap"; Filename: "{app}\{#AppExe}"; Parameters: "tray"; Tasks: startup

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "tray"; Description: "Start traycap now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Removes the Run-key entry that `traycap autostart on` may have written, and the shortcut.
Filename: "{app}\{#CliExe}"; Parameters: "autostart off"; Flags: runhidden waituntilterminated; RunOnceId: "AutostartOff"

; No [UninstallDelete]: sessions and settings in %LOCALAPPDATA%\traycap stay. To delete them
; too, remove that folder by hand after uninstalling.
